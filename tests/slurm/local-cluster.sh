#!/usr/bin/env bash
# A one-node Slurm cluster on localhost for the tests: munged (unless one already runs),
# slurmctld and slurmd with their state under one folder, started directly (no systemd)
# and stopped by the PIDs of what this script started.
#
#   tests/slurm/local-cluster.sh start DIR   # prints `export SLURM_CONF=...`; waits for idle
#   tests/slurm/local-cluster.sh stop DIR
#
# Needs Debian's slurm-wlm slurmctld slurmd slurm-client munge, and root (slurmd runs as
# root; munged as the munge user).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
action=${1:?usage: local-cluster.sh start|stop DIR}
dir=$(mkdir -p "${2:?usage: local-cluster.sh start|stop DIR}" && cd "$2" && pwd)
conf="$dir/slurm.conf"

write_config() {
  local host
  host=$(hostname -s)
  mkdir -p "$dir/state" "$dir/spool"
  # CPUs are declared above the machine's (config_overrides) so 4-rank jobs fit on 2 cores.
  { grep -v '^#' "$here/common-slurm.conf"; cat <<CONF
ClusterName=fracstudy-test
SlurmctldHost=$host(127.0.0.1)
MpiDefault=none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=${FRACSTUDY_SLURMCTLD_PORT:-16817}
SlurmdPort=${FRACSTUDY_SLURMD_PORT:-16818}
KillWait=10
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=8 Boards=1 SocketsPerBoard=1 CoresPerSocket=8 ThreadsPerCore=1 RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  } > "$conf"
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return; fi
  mkdir -p /run/munge
  chown munge:munge /run/munge
  [ -s /etc/munge/munge.key ] || create-munge-key -f >/dev/null 2>&1 || true
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
      cp /run/munge/munged.pid "$dir/munged.pid"  # ours to stop
      return
    fi
    sleep 0.1
  done
  echo "local-cluster: munged did not start" >&2
  exit 1
}

start() {
  write_config
  start_munge
  export SLURM_CONF="$conf"
  /usr/sbin/slurmctld
  /usr/sbin/slurmd
  for _ in $(seq 300); do
    state=$(sinfo -h -o %T 2>/dev/null || true)
    if [ "$state" = idle ]; then
      echo "export SLURM_CONF=$conf"
      return
    fi
    sleep 0.1
  done
  echo "local-cluster: the node did not become idle (state: ${state:-none}); see $dir/*.log" >&2
  exit 1
}

stop() {
  for daemon in slurmd slurmctld munged; do
    if [ -s "$dir/$daemon.pid" ]; then
      kill "$(cat "$dir/$daemon.pid")" 2>/dev/null || true
    fi
  done
  for _ in $(seq 50); do
    alive=0
    for daemon in slurmd slurmctld munged; do
      [ -s "$dir/$daemon.pid" ] && kill -0 "$(cat "$dir/$daemon.pid")" 2>/dev/null && alive=1
    done
    [ "$alive" -eq 0 ] && return
    sleep 0.1
  done
}

case "$action" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: local-cluster.sh start|stop DIR" >&2; exit 2 ;;
esac
