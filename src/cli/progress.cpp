#include "progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace fracstudy::cli {
namespace {

std::string tasks_per_second(const sched::StudyCounts& counts, double elapsed_s) {
  const double since_start = elapsed_s - counts.started_s.value_or(elapsed_s);
  if (since_start <= 0 || counts.ended_this_run == 0) return "- tasks/s";
  char text[48];
  std::snprintf(text, sizeof text, "%.3g tasks/s",
                static_cast<double>(counts.ended_this_run) / since_start);
  return text;
}

/// The counts of all studies together.
sched::StudyCounts total_of(const sched::Scheduler& scheduler) {
  sched::StudyCounts total;
  for (std::size_t s = 0; s < scheduler.study_count(); ++s) {
    const auto c = scheduler.counts(s);
    total.total += c.total;
    total.pending += c.pending;
    total.running += c.running;
    total.completed += c.completed;
    total.failed += c.failed;
    total.ended_this_run += c.ended_this_run;
    total.work.unfinished_cost += c.work.unfinished_cost;
    total.work.unfinished += c.work.unfinished;
    total.work.timed_cost += c.work.timed_cost;
    total.work.timed_wall_s += c.work.timed_wall_s;
    total.work.workers = c.work.workers;
    if (c.started_s)
      total.started_s = std::min(total.started_s.value_or(*c.started_s), *c.started_s);
  }
  return total;
}

/// Where a process's stderr goes ("/dev/pts/3", "pipe:[1234]", ...); "" when unknown.
std::string stderr_target_of(pid_t process) {
  const std::string link = "/proc/" + std::to_string(process) + "/fd/2";
  char target[256];
  const ssize_t length = readlink(link.c_str(), target, sizeof target - 1);
  return length > 0 ? std::string(target, static_cast<std::size_t>(length)) : std::string();
}

}  // namespace

bool stderr_reaches_a_terminal() {
  if (isatty(STDERR_FILENO)) return true;
  if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr) return false;  // not under Open MPI
  const std::string target = stderr_target_of(getppid());
  return target.starts_with("/dev/pts/") || target.starts_with("/dev/tty");
}

ProgressReporter::ProgressReporter(std::ostream& out, bool live, double interval_s,
                                   std::vector<std::string> study_names)
    : out_(out), live_(live), interval_s_(interval_s), names_(std::move(study_names)) {
  for (const auto& name : names_)
    name_width_ = std::max(name_width_, name.size());
}

double ProgressReporter::elapsed_s() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

std::string ProgressReporter::eta_text(std::optional<double> seconds) {
  if (!seconds || !std::isfinite(*seconds)) return "-";
  const auto s = static_cast<long long>(std::llround(std::max(0.0, *seconds)));
  char text[48];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%lldh %02lldm", s / 3600, (s % 3600) / 60);
  } else if (s >= 60) {
    std::snprintf(text, sizeof text, "%lldm %02llds", s / 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%llds", s);
  }
  return text;
}

std::string ProgressReporter::study_line(const std::string& name, const sched::StudyCounts& counts,
                                         double elapsed_s, std::size_t name_width, bool with_bar) {
  const std::int64_t done = counts.ended_tasks();
  const auto percent = static_cast<int>(counts.percentage());
  std::string bar;
  if (with_bar) {
    constexpr int kWidth = 20;
    const int filled = percent * kWidth / 100;
    bar = " ";
    for (int i = 0; i < kWidth; ++i)
      bar += i < filled ? "\u2588" : "\u2591";  // full block, light shade
  }
  char text[512];
  std::snprintf(
      text, sizeof text, "%-*s  %lld/%lld (%d%%)%s  %lld failed  %lld running  %s  ETA %s",
      static_cast<int>(name_width), name.c_str(), static_cast<long long>(done),
      static_cast<long long>(counts.total), percent, bar.c_str(),
      static_cast<long long>(counts.failed), static_cast<long long>(counts.running),
      tasks_per_second(counts, elapsed_s).c_str(),
      counts.all_ended() ? "done" : eta_text(study::estimated_remaining_s(counts.work)).c_str());
  return text;
}

void ProgressReporter::update(const sched::Scheduler& scheduler, bool final) {
  const auto now = Clock::now();
  const double due_after = live_ ? 1.0 : interval_s_;
  if (!final && last_print_ &&
      std::chrono::duration<double>(now - *last_print_).count() < due_after) {
    return;
  }
  if (!final && !last_print_ && !live_ && elapsed_s() < interval_s_) return;
  last_print_ = now;
  if (live_) {
    draw_live(scheduler);
    if (final) drawn_ = false;  // the last lines stay on screen
  } else {
    print_plain(scheduler, final);
  }
  out_.flush();
}

void ProgressReporter::draw_live(const sched::Scheduler& scheduler) {
  // Back to the first line drawn last time, then each line cleared and redrawn.
  if (drawn_) out_ << "\x1b[" << names_.size() << "A";
  for (std::size_t s = 0; s < names_.size(); ++s) {
    out_ << "\r\x1b[2K"
         << study_line(names_[s], scheduler.counts(s), elapsed_s(), name_width_, true) << "\n";
  }
  drawn_ = true;
}

void ProgressReporter::print_plain(const sched::Scheduler& scheduler, bool final) {
  const auto total = total_of(scheduler);
  out_ << "fracstudy: " << (final ? "end" : "progress") << " after " << eta_text(elapsed_s())
       << ": " << study_line("all studies", total, elapsed_s(), 0);
  if (names_.size() > 1) {
    out_ << " |";
    for (std::size_t s = 0; s < names_.size(); ++s) {
      const auto c = scheduler.counts(s);
      out_ << " " << names_[s] << " " << c.completed + c.failed << "/" << c.total;
    }
  }
  out_ << "\n";
}

}  // namespace fracstudy::cli
