#pragma once
/// Rank 0's progress on stderr: on a terminal, one line per study redrawn in place about
/// once a second; elsewhere (a Slurm log, a pipe), one plain line per interval and one at
/// the end. The ETA is study::estimated_remaining_s, the one `status` and the tools show:
/// the unfinished tasks weighed by their estimated cost (n_particles and model), at the
/// measured seconds per unit of cost, shared by the workers.
#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "fracstudy/sched/scheduler.hpp"

namespace fracstudy::cli {

/// Whether progress lines reach a terminal: this process's stderr, or, under mpirun
/// (which passes a rank's stderr through a pipe and prints it on its own), mpirun's.
bool stderr_reaches_a_terminal();

class ProgressReporter {
 public:
  /// `live`: redraw in place (a terminal). `interval_s`: seconds between plain lines.
  ProgressReporter(std::ostream& out, bool live, double interval_s,
                   std::vector<std::string> study_names);

  /// Prints when due; `final` prints the last state whatever the time.
  void update(const sched::Scheduler& scheduler, bool final = false);

  /// One study's line, e.g. "dla_sweep  45/100 (45%)  2 failed  4 running  3.2 tasks/s
  /// ETA 1m 12s", with a bar after the percentage on a terminal.
  static std::string study_line(const std::string& name, const sched::StudyCounts& counts,
                                double elapsed_s, std::size_t name_width, bool with_bar = false);
  /// The ETA of `seconds` as "1h 02m", "3m 12s", "45s"; "-" when unknown.
  static std::string eta_text(std::optional<double> seconds);

 private:
  using Clock = std::chrono::steady_clock;
  double elapsed_s() const;
  void draw_live(const sched::Scheduler& scheduler);
  void print_plain(const sched::Scheduler& scheduler, bool final);

  std::ostream& out_;
  bool live_;
  double interval_s_;
  std::vector<std::string> names_;
  std::size_t name_width_ = 0;
  Clock::time_point start_ = Clock::now();
  std::optional<Clock::time_point> last_print_;
  bool drawn_ = false;  // live lines are on screen, to be redrawn
};

}  // namespace fracstudy::cli
