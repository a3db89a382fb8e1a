# Sourced by the scripts: lets mpirun work as root and on machines with fewer cores than
# ranks, and makes idle ranks yield the CPU. Changes nothing for an ordinary user.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_mpi_yield_when_idle=1
