// Times one checkpoint: `io::write_result_file` (the call rank 0 makes at every
// checkpoint and at the end) for a study of N completed tasks, and reports the file size.
//
//   fracstudy_bench_checkpoint N [REPEATS] [DIR]
//
// Prints one JSON line: tasks, median/min wall seconds of a write (temporary file, fsync,
// rename, as in a run), bytes of the file, bytes per task. Not a test: nothing is checked.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "fracstudy/io/result_file.hpp"
#include "fracstudy/study/parser.hpp"
#include "fracstudy/study/tasks.hpp"

int main(int argc, char** argv) {
  using namespace fracstudy;
  const long tasks_wanted = argc > 1 ? std::stol(argv[1]) : 100000;
  const int repeats = argc > 2 ? std::stoi(argv[2]) : 3;
  const std::string dir = argc > 3 ? argv[3] : "/tmp";
  const std::string text =
      "seed: 1\nstudies:\n  - name: tiny\n    algorithm: EDEN\n"
      "    base_parameters: {n_particles: 20}\n    repetitions: " +
      std::to_string(tasks_wanted) + "\n";
  const auto file = study::parse_study_text(text, "bench.yaml");
  const auto tasks = study::expand_tasks(file);
  std::vector<study::TaskRecord> records(tasks.size());
  for (std::size_t i = 0; i < records.size(); ++i) {  // what a finished run holds
    auto& r = records[i];
    r.status = study::TaskStatus::Completed;
    r.attempts = 1;
    r.worker_rank = 1 + static_cast<int>(i % 2);
    r.wall_time_s = 1e-5 * static_cast<double>(1 + i % 7);
    for (std::size_t m = 0; m < kernels::kMetricCount; ++m) {  // every metric has a value
      r.metrics[m] = 1.0 + static_cast<double>(m) + 1e-7 * static_cast<double>(i);
    }
  }
  io::ResultSnapshot snapshot{&file,
                              &tasks,
                              records,
                              {io::StudyRun{study::StudyStatus::Completed, "2026-11-28T00:00:00Z",
                                            "2026-11-28T00:00:00Z", "2026-11-28T00:00:01Z"}},
                              3};
  const std::string path = dir + "/fracstudy_bench_checkpoint.h5";
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    io::write_result_file(path, snapshot);
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  const auto bytes = std::filesystem::file_size(path);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf(
      "{\"tasks\": %zu, \"write_s_median\": %.6f, \"write_s_min\": %.6f, \"repeats\": %d, "
      "\"bytes\": %ju, \"bytes_per_task\": %.1f, \"peak_rss_mb\": %.1f}\n",
      tasks.size(), times[times.size() / 2], times.front(), repeats,
      static_cast<std::uintmax_t>(bytes),
      static_cast<double>(bytes) / static_cast<double>(tasks.size()),
      static_cast<double>(usage.ru_maxrss) / 1024.0);
  std::filesystem::remove(path);
  return 0;
}
