#pragma once
/// Walltime drain: SIGUSR1 (Slurm's --signal=B:USR1@T, forwarded by mpirun), SIGTERM and
/// a first Ctrl-C ask the run to stop cleanly: no new work, running attempts finish
/// within the grace time, a final checkpoint, exit code 3.

namespace fracstudy::exec {

/// Installs the handlers; a second Ctrl-C ends the process as usual.
void install_drain_signal_handlers();

/// Whether a drain signal has arrived (async-signal-safe flag).
bool drain_requested();

/// The signal that asked for the drain (0 when none).
int drain_signal();

}  // namespace fracstudy::exec
