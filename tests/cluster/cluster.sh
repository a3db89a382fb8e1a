#!/usr/bin/env bash
# A cluster of several nodes on this one machine, for the `multinode` tests: a head node
# (slurmctld) and N compute nodes (one slurmd each). A node is a network namespace with
# its own hostname (UTS namespace) and mount namespace (its own /etc/hosts, /etc/slurm,
# /run/munge and /dev/shm), kept alive by one holder process; the nodes share a bridge
# on a private /24 that exists only inside them (the host has no address on it and an
# unreachable route for it, so nothing is routed off the machine).
#
#   tests/cluster/cluster.sh start DIR [NODES]  # default 3; prints nothing; waits for idle
#   tests/cluster/cluster.sh stop DIR           # removes all of it, also after a failure;
#                                               # exit 1 naming what is left, if anything
#   tests/cluster/cluster.sh leftovers DIR      # lists what a stop left behind (none: empty)
#   tests/cluster/cluster.sh kill-node DIR NAME # link down, then SIGKILL all in the node
#   tests/cluster/cluster.sh revive-node DIR NAME  # a killed node back, its daemon too
#   DIR/bin/on NODE CMD...                      # runs CMD inside a node
#   DIR/bin/node-agent                          # Open MPI's rsh agent (plm_rsh_agent)
#
# Two copies can run side by side: each takes a free slot (its own subnet, bridge,
# namespace and link names) under /run/fracstudy-cluster. Needs root, iproute2,
# util-linux, munge and Debian's Slurm (slurmctld, slurmd, slurm-client).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
action=${1:?usage: cluster.sh start|stop|leftovers|kill-node DIR [ARG]}
dir=$(mkdir -p "${2:?usage: cluster.sh ACTION DIR}" && cd "$2" && pwd)
slots=/run/fracstudy-cluster

slot() { cat "$dir/slot" 2>/dev/null || true; }
nodes() { cat "$dir/nodes.list" 2>/dev/null || true; }
holder() { cat "$dir/nodes/$1/holder.pid"; }
netns_of() { echo "fsc$(slot)-$1"; }

claim_slot() {
  mkdir -p "$slots"
  for k in $(seq 0 49); do
    if mkdir "$slots/$k" 2>/dev/null; then
      echo "$dir" > "$slots/$k/owner"
      echo "$k" > "$dir/slot"
      return
    fi
  done
  echo "cluster: no free slot in $slots (stop the clusters listed there)" >&2
  exit 1
}

write_hosts() {
  local k=$1 i=0
  { echo "127.0.0.1 localhost"
    for node in $(nodes); do echo "10.213.$k.$((10 + i)) $node"; i=$((i + 1)); done
  } > "$dir/hosts"
}

# One slurm.conf for every node. The spool and TmpFS paths are the same on every node
# but each node mounts its own folder there: Slurm's pmix plugin names a peer's socket by
# its own spool path, and makes folders of the same name on every node in TmpFS.
write_slurm_conf() {
  local k=$1 compute=$2 i=1 private="$slots/$1"
  mkdir -p "$dir/etc-slurm"
  {
    grep -v '^#' "$here/../slurm/common-slurm.conf"
    cat <<CONF
ClusterName=fsc$k
SlurmctldHost=head(10.213.$k.10)
MpiDefault=pmix
SchedulerParameters=bf_interval=5
JobRequeue=1
SlurmdTimeout=10
SlurmctldTimeout=10
MessageTimeout=5
KillWait=5
MinJobAge=600
StateSaveLocation=$dir/state
SlurmdSpoolDir=$private/spool
TmpFS=$private/tmp
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$private/spool/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$private/spool/slurmd.log
CONF
    for c in $compute; do
      echo "NodeName=$c NodeAddr=10.213.$k.$((10 + i)) CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=2000 State=UNKNOWN"
      i=$((i + 1))
    done
    echo "PartitionName=debug Nodes=$(echo $compute | tr ' ' ,) Default=YES MaxTime=INFINITE State=UP"
  } > "$dir/etc-slurm/slurm.conf"
}

write_tools() {
  mkdir -p "$dir/bin"
  cat > "$dir/bin/on" <<SH
#!/bin/sh
# on NODE CMD...: runs CMD inside NODE's namespaces, in the caller's folder.
node=\$1; shift
exec nsenter -t "\$(cat "$dir/nodes/\$node/holder.pid")" --net --uts --mount --wd="\$PWD" -- "\$@"
SH
  # Open MPI calls its rsh agent as `AGENT HOST WORD...`: the words form a shell command.
  cat > "$dir/bin/node-agent" <<SH
#!/bin/sh
node=\$1; shift
exec nsenter -t "\$(cat "$dir/nodes/\$node/holder.pid")" --net --uts --mount -- \\
  env -i PATH="$PATH" HOME="\${HOME:-/root}" /bin/sh -c "\$*"
SH
  chmod +x "$dir/bin/on" "$dir/bin/node-agent"
}

start_node() {
  local node=$1 k=$2 address=$3 ns
  ns=$(netns_of "$node")
  mkdir -p "$dir/nodes/$node/spool" "$dir/nodes/$node/tmp"
  ip netns add "$ns"
  ip link add "fsc$k-$node" type veth peer name eth0 netns "$ns"
  ip link set "fsc$k-$node" master "fsc$k-br" up
  ip netns exec "$ns" sh -c "
    sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
    ip link set lo up
    ip addr add $address/24 dev eth0
    ip link set eth0 up"
  start_holder "$node" "$k"
  stat -L -c %i "/run/netns/$ns" >> "$dir/netns-inodes"  # to find stray processes later
}

start_holder() {
  local node=$1 k=$2 ns
  ns=$(netns_of "$node")
  # The holder: a hostname and mounts of its own, then it sleeps; nodes are entered by
  # its PID (files bind-mounted from /proc/PID/ns are empty inside other mount namespaces).
  nsenter --net="/run/netns/$ns" -- unshare --uts --mount --propagation private -- /bin/sh -c "
    hostname $node
    mount --bind '$dir/hosts' /etc/hosts
    mount --bind '$dir/etc-slurm' /etc/slurm
    mount --bind '$dir/nodes/$node/spool' '$slots/$k/spool'
    mount --bind '$dir/nodes/$node/tmp' '$slots/$k/tmp'
    mount --bind '$slots/$k/munge' /run/munge
    mount -t tmpfs -o size=256m tmpfs /dev/shm
    exec sleep infinity" > /dev/null 2>&1 < /dev/null &
  echo $! > "$dir/nodes/$node/holder.pid"
}

# A killed node comes back: a new holder (hostname, mounts), its link up, its slurmd with
# a clean spool (a dead slurmstepd's pmix sockets would block the next step; the
# credential state stays).
revive_node() {
  local node=$1 k
  k=$(slot)
  find "$dir/nodes/$node/spool" -mindepth 1 -maxdepth 1 ! -name 'cred_state*' \
    -exec rm -rf {} + 2> /dev/null || true
  start_holder "$node" "$k"
  wait_for 10 "$node's namespaces" mounted_in "$node"
  ip link set "fsc$k-$node" up
  if [ "$node" = head ]; then
    "$dir/bin/on" head /usr/sbin/slurmctld
  else
    "$dir/bin/on" "$node" /usr/sbin/slurmd
  fi
}

wait_for() {  # wait_for SECONDS WHAT COMMAND...
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq $((seconds * 10))); do
    if "$@" > /dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "cluster: $what did not happen in $seconds s (see $dir)" >&2
  return 1
}

mounted_in() {  # mounted_in NODE: its holder has entered its mount namespace with mounts
  grep -q " /dev/shm tmpfs" "/proc/$(holder "$1")/mounts" 2>/dev/null &&
    [ "$(nsenter -t "$(holder "$1")" --uts hostname)" = "$1" ]
}

# munged runs as the munge user: its folder is under the slot in /run, which it can reach
# wherever DIR is (a private temporary folder, say).
start_munge() {
  local munge_dir="$slots/$(slot)/munge"
  mkdir -p "$munge_dir" /run/munge
  chown munge:munge "$munge_dir"
  chmod 0755 "$munge_dir"
  [ -s /etc/munge/munge.key ] || create-munge-key -f > /dev/null 2>&1 || true
  runuser -u munge -- /usr/sbin/munged --socket="$munge_dir/munge.socket.2" \
    --pid-file="$munge_dir/munged.pid" --log-file="$munge_dir/munged.log" \
    --seed-file="$munge_dir/munged.seed"
  wait_for 10 "munged's start" sh -c "munge -n -S '$munge_dir/munge.socket.2' | unmunge -S '$munge_dir/munge.socket.2'"
  cp "$munge_dir/munged.pid" "$dir/munged.pid"
}

start() {
  local count=${1:-3} k compute i
  if [ -s "$dir/slot" ]; then stop; fi  # idempotent: a second start gives a fresh cluster
  rm -rf "$dir/nodes" "$dir/state" "$dir"/*.log "$dir/netns-inodes"
  claim_slot
  k=$(slot)
  compute=$(for i in $(seq "$count"); do echo "node$i"; done)
  echo head $compute | tr ' ' '\n' > "$dir/nodes.list"
  mkdir -p "$dir/state"
  write_hosts "$k"
  mkdir -p "$slots/$k/spool" "$slots/$k/tmp"
  write_slurm_conf "$k" "$compute"
  write_tools
  start_munge
  ip link add "fsc$k-br" type bridge
  ip link set "fsc$k-br" up
  ip route add unreachable "10.213.$k.0/24" 2> /dev/null || true
  i=0
  for node in $(nodes); do
    start_node "$node" "$k" "10.213.$k.$((10 + i))"
    i=$((i + 1))
  done
  for node in $(nodes); do wait_for 10 "$node's namespaces" mounted_in "$node"; done
  "$dir/bin/on" head /usr/sbin/slurmctld
  for node in $compute; do "$dir/bin/on" "$node" /usr/sbin/slurmd; done
  wait_for 60 "every node idle" sh -c "[ \"\$('$dir/bin/on' head sinfo -h -N -o %T | sort -u)\" = idle ]"
}

kill_node() {
  local node=$1 ns
  ns=$(netns_of "$node")
  ip link set "fsc$(slot)-$node" down 2> /dev/null || true
  for _ in 1 2 3; do
    pids=$(ip netns pids "$ns" 2> /dev/null || true)
    [ -z "$pids" ] && break
    kill -9 $pids 2> /dev/null || true
    sleep 0.1
  done
}

stop() {
  local k
  k=$(slot)
  [ -n "$k" ] || return 0
  for node in $(nodes); do kill_node "$node"; done
  if [ -s "$dir/munged.pid" ]; then kill "$(cat "$dir/munged.pid")" 2> /dev/null || true; fi
  for node in $(nodes); do
    ip netns del "$(netns_of "$node")" 2> /dev/null || true
    # A veth goes with its namespace, but not always at once (or at all, on some
    # kernels, while another namespace still refers to it): removed by name too.
    ip link del "fsc$k-$node" 2> /dev/null || true
  done
  ip link del "fsc$k-br" 2> /dev/null || true
  ip route del unreachable "10.213.$k.0/24" 2> /dev/null || true
  # Deleting a namespace is asynchronous: its veth goes a moment later.
  wait_for 10 "the links' removal" sh -c "! ip -o link show | grep -q 'fsc$k-'" || true
  wait_for 10 "munged's end" sh -c "! kill -0 \$(cat '$dir/munged.pid' 2>/dev/null) 2>/dev/null" || true
  rm -rf "${slots:?}/$k"
  rm -f "$dir/slot"
}

leftovers() {
  local k
  k=$(cat "$dir/last-slot" 2> /dev/null || slot)
  [ -n "$k" ] || return 0
  ip netns list 2> /dev/null | grep "^fsc$k-" | sed 's/^/namespace /' || true
  ip -o link show 2> /dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
    grep "^fsc$k-" | sed 's/^/link /' || true
  ip route show 2> /dev/null | grep "10.213.$k.0/24" | sed 's/^/route /' || true
  # A process still in one of the nodes' network namespaces, or our munged.
  if [ -s "$dir/netns-inodes" ]; then
    for ns in /proc/[0-9]*/ns/net; do
      inode=$(stat -L -c %i "$ns" 2> /dev/null) || continue
      if grep -qx "$inode" "$dir/netns-inodes"; then
        pid=${ns#/proc/}
        echo "process ${pid%%/*} $(tr '\0' ' ' < "/proc/${pid%%/*}/cmdline" 2> /dev/null)"
      fi
    done
  fi
  if [ -s "$dir/munged.pid" ] && kill -0 "$(cat "$dir/munged.pid")" 2> /dev/null; then
    echo "process $(cat "$dir/munged.pid") munged"
  fi
  grep -q " $slots/$k/" /proc/mounts && echo "mount under $slots/$k"
  [ -d "$slots/$k" ] && echo "slot $slots/$k"
  return 0
}

case "$action" in
  start)
    # In a process of its own, so that `set -e` holds inside; a failed start is undone.
    if ! "$0" start-steps "$dir" "${3:-3}"; then
      stop
      exit 1
    fi
    ;;
  start-steps) start "${3:-3}"; slot > "$dir/last-slot" ;;
  stop)
    stop
    left=$(leftovers)
    if [ -n "$left" ]; then
      echo "cluster: the stop left behind:" >&2
      echo "$left" >&2
      exit 1
    fi
    ;;
  leftovers) leftovers ;;
  kill-node) kill_node "${3:?kill-node DIR NODE}" ;;
  revive-node) revive_node "${3:?revive-node DIR NODE}" ;;
  *) echo "usage: cluster.sh start|stop|leftovers|kill-node DIR [ARG]" >&2; exit 2 ;;
esac
