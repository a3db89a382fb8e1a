#include <gtest/gtest.h>

#include <cmath>

#include "fracstudy/study/parser.hpp"
#include "fracstudy/study/statistics.hpp"

using namespace fracstudy::study;

TEST(Statistics, MomentsMatchHandComputedValues) {
  const std::vector<double> values = {1.0, 2.0, 3.0, 4.0};
  const auto m = moments(values);
  EXPECT_DOUBLE_EQ(m.mean, 2.5);
  EXPECT_NEAR(m.std, std::sqrt(5.0 / 3.0), 1e-12);  // sample std, n - 1
  EXPECT_NEAR(m.sem, std::sqrt(5.0 / 3.0) / 2.0, 1e-12);
}

TEST(Statistics, NaNsAreSkippedAndSingleSamplesHaveNoSpread) {
  const std::vector<double> values = {std::nan(""), 2.0};
  const auto m = moments(values);
  EXPECT_DOUBLE_EQ(m.mean, 2.0);
  EXPECT_TRUE(std::isnan(m.std));
  EXPECT_TRUE(std::isnan(moments(std::vector<double>{}).mean));
}

TEST(Statistics, SummaryCountsSamplesAndFailuresPerPoint) {
  const auto file = parse_study_text(R"(
studies:
  - name: s
    algorithm: DLA
    variable_parameter: n_particles
    values: [10, 20]
    repetitions: 3
)",
                                     "t.yaml");
  const auto tasks = expand_tasks(file);
  std::vector<TaskRecord> records(tasks.size());
  const double dfs[] = {1.6, 1.7, 1.8, 1.5, 0, 0};
  for (std::size_t i = 0; i < 4; ++i) {
    records[i].status = TaskStatus::Completed;
    records[i].df = dfs[i];
    records[i].rg = 2.0;
  }
  records[4].status = TaskStatus::Failed;
  const auto summary = summarize(file.studies[0], tasks, records);
  ASSERT_EQ(summary.size(), 2u);
  EXPECT_EQ(summary[0].n_samples, 3);
  EXPECT_NEAR(summary[0].df.mean, 1.7, 1e-12);
  EXPECT_EQ(summary[1].n_samples, 1);
  EXPECT_EQ(summary[1].n_failed, 1);
  EXPECT_DOUBLE_EQ(summary[1].df.mean, 1.5);
  EXPECT_TRUE(std::isnan(summary[1].df.std));
}
