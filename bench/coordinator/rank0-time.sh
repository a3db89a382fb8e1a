#!/usr/bin/env bash
# Runs "$@"; on MPI rank 0 only, under /usr/bin/time, so that rank 0's peak resident set
# (max RSS, kB) lands in $FRACSTUDY_RANK0_TIME. Other ranks run "$@" unchanged.
if [ "${OMPI_COMM_WORLD_RANK:-0}" = 0 ] && [ -n "${FRACSTUDY_RANK0_TIME:-}" ]; then
  exec /usr/bin/time -f '%M %e %U %S' -o "$FRACSTUDY_RANK0_TIME" "$@"
fi
exec "$@"
