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

TEST(Statistics, RangeIsTheSmallestAndLargestFiniteValue) {
  const std::vector<double> values = {300, std::nan(""), 100, 200};
  EXPECT_EQ(aggregate(fracstudy::kernels::Aggregation::Range, values),
            (std::vector<double>{100, 300}));
  const auto none = aggregate(fracstudy::kernels::Aggregation::Range, std::vector<double>{});
  ASSERT_EQ(none.size(), 2u);
  EXPECT_TRUE(std::isnan(none[0]) && std::isnan(none[1]));
}

TEST(Statistics, EveryMetricHasOneColumnPerStatisticOfItsAggregation) {
  using fracstudy::kernels::kMetrics;
  for (const auto& metric : kMetrics) {
    const auto names = statistic_names(metric.aggregation);
    ASSERT_FALSE(names.empty()) << metric.name;
    EXPECT_EQ(aggregate(metric.aggregation, std::vector<double>{1.0}).size(), names.size());
  }
  EXPECT_EQ(statistic_column("sem", kMetrics[2]), "sem_kf");  // kf had no sem before
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
  std::vector<TaskRecord> records(6);
  const double dfs[] = {1.6, 1.7, 1.8, 1.5, 0, 0};
  for (std::size_t i = 0; i < 4; ++i) {
    records[i].status = TaskStatus::Completed;
    records[i].metrics.value("df") = dfs[i];
    records[i].metrics.value("rg") = 2.0;
    records[i].metrics.value("fit_n_min") = 10.0 * static_cast<double>(i);
  }
  records[4].status = TaskStatus::Failed;
  const auto summary = summarize(file.studies[0], records);
  const auto df = *fracstudy::kernels::metric_index("df");
  const auto fit_n_min = *fracstudy::kernels::metric_index("fit_n_min");
  ASSERT_EQ(summary.size(), 2u);
  EXPECT_EQ(summary[0].n_samples, 3);
  EXPECT_NEAR(summary[0].statistics[df][0], 1.7, 1e-12);                      // mean
  EXPECT_EQ(summary[0].statistics[fit_n_min], (std::vector<double>{0, 20}));  // min, max
  EXPECT_EQ(summary[1].n_samples, 1);
  EXPECT_EQ(summary[1].n_failed, 1);
  EXPECT_DOUBLE_EQ(summary[1].statistics[df][0], 1.5);
  EXPECT_TRUE(std::isnan(summary[1].statistics[df][1]));  // no spread from one sample
}
