#include "fracstudy/study/statistics.hpp"

#include <cmath>

namespace fracstudy::study {

Moments moments(std::span<const double> values) {
  double sum = 0;
  std::int64_t n = 0;
  for (double v : values) {
    if (std::isfinite(v)) {
      sum += v;
      ++n;
    }
  }
  Moments result;
  if (n == 0) return result;
  result.mean = sum / static_cast<double>(n);
  if (n < 2) return result;
  double squares = 0;  // two-pass for accuracy
  for (double v : values) {
    if (std::isfinite(v)) squares += (v - result.mean) * (v - result.mean);
  }
  result.std = std::sqrt(squares / static_cast<double>(n - 1));
  result.sem = result.std / std::sqrt(static_cast<double>(n));
  return result;
}

std::vector<PointSummary> summarize(const StudySpec& study, std::span<const Task> tasks,
                                    std::span<const TaskRecord> records) {
  std::vector<PointSummary> summaries(study.points.size());
  std::vector<std::vector<double>> df(study.points.size()), rg(study.points.size()),
      kf(study.points.size());
  for (std::size_t p = 0; p < summaries.size(); ++p)
    summaries[p].point = p;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const std::size_t p = tasks[i].point;
    const TaskRecord& record = records[i];
    if (record.status == TaskStatus::Failed) ++summaries[p].n_failed;
    if (record.status != TaskStatus::Completed) continue;
    ++summaries[p].n_samples;
    df[p].push_back(record.df);
    rg[p].push_back(record.rg);
    kf[p].push_back(record.kf);
  }
  for (std::size_t p = 0; p < summaries.size(); ++p) {
    summaries[p].df = moments(df[p]);
    summaries[p].rg = moments(rg[p]);
    summaries[p].kf = moments(kf[p]);
  }
  return summaries;
}

}  // namespace fracstudy::study
