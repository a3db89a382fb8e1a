// The metric table: what every layer iterates over must be well formed.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <set>
#include <string>

#include "fracstudy/kernels/metrics.hpp"
#include "fracstudy/kernels/models.hpp"

using namespace fracstudy::kernels;

TEST(Metrics, NamesAreUniqueColumnNamesAndEveryMetricCanBeRead) {
  std::set<std::string_view> names;
  const std::regex column("[a-z][a-z0-9_]*");
  for (const auto& metric : kMetrics) {
    EXPECT_TRUE(names.insert(metric.name).second) << metric.name << " twice";
    EXPECT_TRUE(std::regex_match(std::string(metric.name), column)) << metric.name;
    EXPECT_FALSE(metric.description.empty()) << metric.name;
    EXPECT_NE(metric.value_of, nullptr) << metric.name;
    EXPECT_EQ(metric_index(metric.name), static_cast<std::size_t>(&metric - kMetrics));
  }
  EXPECT_FALSE(metric_index("no_such_metric"));
}

TEST(Metrics, TheFirstMetricsKeepTheirPlaces) {
  // Old result files and version-1 journals hold df, rg and kf in this order.
  EXPECT_EQ(kMetrics[0].name, "df");
  EXPECT_EQ(kMetrics[1].name, "rg");
  EXPECT_EQ(kMetrics[2].name, "kf");
}

TEST(Metrics, ValuesAreReadFromTheSimulationAndAreNaNWithoutOne) {
  const MetricValues none;
  for (double value : none)
    EXPECT_TRUE(std::isnan(value));  // a task without a value holds NaN, never 0
  SimulationParameters p;
  p.n_particles = 300;
  const auto result = simulate(Algorithm::DLA, p, 3, Deadline::none());
  const auto metrics = MetricValues::of(result);
  EXPECT_EQ(metrics.value("df"), result.fit.df);
  EXPECT_EQ(metrics.value("rg"), result.rg);
  EXPECT_EQ(metrics.value("fit_n_max"), 300);
  EXPECT_THROW(static_cast<void>(metrics.value("nope")), std::out_of_range);
}

TEST(Metrics, AnEstimateOutsideItsMetricsRangeIsNoValueSoTheTaskCanBeContinued) {
  // A degenerate growth fit of a 40-site Eden cluster gave df_err = 6,445: reported as is,
  // the task's own row made `--resume` refuse the file as damaged.
  fracstudy::kernels::SimulationResult result;
  result.rg = 5.0;
  result.fit.df = 1.9;
  result.fit.df_err = 6445.6;
  const auto values = fracstudy::kernels::MetricValues::of(result);
  EXPECT_TRUE(std::isnan(values.value("df_err")));
  EXPECT_EQ(values.value("df"), 1.9);
  EXPECT_FALSE(fracstudy::kernels::check_completed(values).has_value());
}

TEST(Metrics, WhatComesFromTheSameFitAsARejectedEstimateIsNoValueEither) {
  // A 40-particle CCA cluster at volume fraction 0.2 (seed 17) fitted df = 27, rejected,
  // while kf = exp(-df x intercept) = 6.6e-25 from that fit was kept and averaged.
  fracstudy::kernels::SimulationResult result;
  result.rg = 5.0;
  result.fit.df = 27.0;
  result.fit.df_err = 3.0;
  result.fit.kf = 6.6e-25;
  result.mass_radius.df = 2.1;
  result.mass_radius.df_err = 0.05;
  const auto values = fracstudy::kernels::MetricValues::of(result);
  EXPECT_TRUE(std::isnan(values.value("df")));
  EXPECT_TRUE(std::isnan(values.value("kf")));
  EXPECT_TRUE(std::isnan(values.value("df_err")));
  EXPECT_EQ(values.value("df_mr"), 2.1);  // another fit: kept
  EXPECT_EQ(values.value("df_mr_err"), 0.05);
  result.fit.df = 1.8;
  EXPECT_EQ(fracstudy::kernels::MetricValues::of(result).value("kf"), 6.6e-25);
}
