#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "fracstudy/kernels/fractal_fit.hpp"

using namespace fracstudy::kernels;

namespace {

/// Growth samples that follow N = kf Rg^df exactly at the given sizes.
std::vector<GrowthSample> exact_power_law(const std::vector<std::int64_t>& sizes, double df,
                                          double kf) {
  std::vector<GrowthSample> samples;
  for (std::int64_t n : sizes) {
    samples.push_back({n, std::pow(static_cast<double>(n) / kf, 1.0 / df)});
  }
  return samples;
}

}  // namespace

TEST(FractalFit, RecoversAnExactPowerLaw) {
  for (const auto& [df, kf] : {std::pair{1.71, 1.3}, std::pair{2.5, 0.7}, std::pair{3.0, 1.0}}) {
    const auto samples = exact_power_law(log_spaced_sizes(100000, 10), df, kf);
    const PowerLawFit fit = fit_power_law(samples, 1, 100000);
    EXPECT_NEAR(fit.df, df, 1e-10);
    EXPECT_NEAR(fit.kf, kf, 1e-9);
    EXPECT_EQ(fit.n_min, 1);
    EXPECT_EQ(fit.n_max, 100000);
  }
}

TEST(FractalFit, UsesOnlySamplesInsideTheRange) {
  // Small sizes follow one law and large sizes another: the fit must see only the range.
  auto samples = exact_power_law({2, 5, 10, 20, 50, 99}, 1.2, 3.0);
  for (const auto& sample : exact_power_law({100, 200, 500, 1000, 2000, 5000}, 1.8, 0.9)) {
    samples.push_back(sample);
  }
  const PowerLawFit fit = fit_power_law(samples, 100, 3000);
  EXPECT_NEAR(fit.df, 1.8, 1e-10);
  EXPECT_NEAR(fit.kf, 0.9, 1e-9);
  EXPECT_EQ(fit.n_min, 100);   // the bounds reported are the sizes actually used
  EXPECT_EQ(fit.n_max, 2000);  // 5000 lies above n_max = 3000
  EXPECT_EQ(fit.n_points, 5);  // 100, 200, 500, 1000, 2000
  EXPECT_EQ(fit_power_law_with_offset(samples, 100, 3000).power_law.n_points, 5);
  EXPECT_EQ(fit_power_law_binned(samples, 100, 3000, 1).n_points, 2);  // bins [100, 1000) and 1000+
}

TEST(FractalFit, DegenerateInputGivesNaN) {
  const std::vector<GrowthSample> none;
  EXPECT_TRUE(std::isnan(fit_power_law(none, 1, 100).df));

  const std::vector<GrowthSample> one = {{10, 3.0}};
  const PowerLawFit single = fit_power_law(one, 1, 100);
  EXPECT_TRUE(std::isnan(single.df));
  EXPECT_TRUE(std::isnan(single.kf));

  const std::vector<GrowthSample> same_size = {{10, 3.0}, {10, 3.5}};
  EXPECT_TRUE(std::isnan(fit_power_law(same_size, 1, 100).df));

  // Rg = 0 (a single particle) has no logarithm and is skipped, leaving one size.
  const std::vector<GrowthSample> with_zero = {{1, 0.0}, {10, 3.0}};
  EXPECT_TRUE(std::isnan(fit_power_law(with_zero, 1, 100).df));

  // Samples outside the range do not count towards the two sizes.
  const std::vector<GrowthSample> outside = {{10, 3.0}, {20, 4.0}, {30, 5.0}};
  EXPECT_TRUE(std::isnan(fit_power_law(outside, 20, 25).df));

  // Rg that does not grow with N is no fractal power law.
  const std::vector<GrowthSample> shrinking = {{10, 3.0}, {20, 2.0}};
  EXPECT_TRUE(std::isnan(fit_power_law(shrinking, 1, 100).df));
}

TEST(FractalFit, LogSpacedSizesRunFromOneToTheEnd) {
  const auto sizes = log_spaced_sizes(12345, 10);
  ASSERT_FALSE(sizes.empty());
  EXPECT_EQ(sizes.front(), 1);
  EXPECT_EQ(sizes.back(), 12345);
  for (std::size_t i = 1; i < sizes.size(); ++i) {
    EXPECT_LT(sizes[i - 1], sizes[i]);
  }
  // Ten per decade above 10 (10, 13, 16, 20, 25, 32, 40, 50, 63, 79 ...).
  int in_third_decade = 0;
  for (std::int64_t n : sizes) {
    in_third_decade += (n >= 100 && n < 1000) ? 1 : 0;
  }
  EXPECT_EQ(in_third_decade, 10);

  EXPECT_EQ(log_spaced_sizes(1, 10), std::vector<std::int64_t>{1});
  EXPECT_EQ(log_spaced_sizes(3, 10), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_TRUE(log_spaced_sizes(0, 10).empty());
  EXPECT_THROW(log_spaced_sizes(100, 0), std::invalid_argument);
}

TEST(FractalFit, RadiusOfGyrationOfSimpleShapes) {
  // Two points 2 apart: each is 1 from the centre of mass.
  const std::vector<double> pair = {5.0, 1.0, 7.0, 1.0};
  EXPECT_DOUBLE_EQ(radius_of_gyration(pair, 2), 1.0);
  // Eight corners of a cube of side 2 centred anywhere: every corner is sqrt(3) away.
  std::vector<double> cube;
  for (int i = 0; i < 8; ++i) {
    cube.push_back(100.0 + ((i & 1) != 0 ? 1.0 : -1.0));
    cube.push_back(-3.0 + ((i & 2) != 0 ? 1.0 : -1.0));
    cube.push_back((i & 4) != 0 ? 1.0 : -1.0);
  }
  EXPECT_NEAR(radius_of_gyration(cube, 3), std::sqrt(3.0), 1e-12);
  EXPECT_EQ(radius_of_gyration(std::vector<double>{4.0, 2.0}, 2), 0.0);
  EXPECT_TRUE(std::isnan(radius_of_gyration(std::vector<double>{}, 2)));
  EXPECT_THROW(radius_of_gyration(std::vector<double>{1.0, 2.0, 3.0}, 2), std::invalid_argument);
}

TEST(FractalFit, OffsetFitRecoversAnOffsetPowerLaw) {
  // Rg = A N^(1/df) + B exactly: the fit returns df, kf = A^-df and B.
  for (const auto& [df, a, b] :
       {std::tuple{2.0, 0.6, 1.5}, std::tuple{3.0, 0.5, 2.5}, std::tuple{1.71, 1.1, -0.4}}) {
    std::vector<GrowthSample> samples;
    for (std::int64_t n : log_spaced_sizes(100000, 10)) {
      samples.push_back({n, a * std::pow(static_cast<double>(n), 1.0 / df) + b});
    }
    const OffsetPowerLawFit fit = fit_power_law_with_offset(samples, 100, 100000);
    EXPECT_NEAR(fit.power_law.df, df, 1e-6 * df);
    EXPECT_NEAR(fit.power_law.kf, std::pow(a, -df), 1e-5 * std::pow(a, -df));
    EXPECT_NEAR(fit.offset, b, 1e-5);
    EXPECT_EQ(fit.power_law.n_min, 100);
    EXPECT_EQ(fit.power_law.n_max, 100000);
    // Without the offset the plain fit is biased: the reason the offset fit exists.
    if (b > 1) {
      EXPECT_GT(fit_power_law(samples, 100, 100000).df, df + 0.05);
    }
  }
}

TEST(FractalFit, OffsetFitNeedsThreeSizesAndAGrowingRg) {
  const std::vector<GrowthSample> two = {{10, 3.0}, {100, 6.0}};
  EXPECT_TRUE(std::isnan(fit_power_law_with_offset(two, 1, 1000).power_law.df));
  const std::vector<GrowthSample> flat = {{10, 3.0}, {100, 3.0}, {1000, 3.0}};
  EXPECT_TRUE(std::isnan(fit_power_law_with_offset(flat, 1, 1000).power_law.df));
  const std::vector<GrowthSample> shrinking = {{10, 5.0}, {100, 4.0}, {1000, 3.0}};
  EXPECT_TRUE(std::isnan(fit_power_law_with_offset(shrinking, 1, 1000).power_law.df));
}

TEST(FractalFit, BinnedFitRecoversAnExactPowerLaw) {
  // Many clusters at every size, as in a population: the exact law comes back.
  std::vector<GrowthSample> samples;
  for (std::int64_t n = 1; n <= 5000; ++n) {
    for (const auto& sample : exact_power_law(
             std::vector<std::int64_t>(static_cast<std::size_t>(5000 / n), n), 1.45, 1.2)) {
      samples.push_back(sample);
    }
  }
  const PowerLawFit fit = fit_power_law_binned(samples, 10, 5000, 10);
  EXPECT_NEAR(fit.df, 1.45, 1e-10);
  EXPECT_NEAR(fit.kf, 1.2, 1e-9);
  EXPECT_EQ(fit.n_min, 10);
  EXPECT_EQ(fit.n_max, 5000);
}

TEST(FractalFit, BinnedFitWeighsEveryBinTheSame) {
  // Two bins, one with a thousand clusters above the law and one with a single cluster on
  // it: a plain fit follows the crowd, the binned fit gives each bin one point.
  std::vector<GrowthSample> samples;
  for (int i = 0; i < 1000; ++i) {
    samples.push_back({10, 2.0});
  }
  samples.push_back({1000, 20.0});
  const PowerLawFit binned = fit_power_law_binned(samples, 1, 1000, 10);
  EXPECT_NEAR(binned.df, 2.0, 1e-12);  // through (10, 2) and (1000, 20): slope 1/2
  EXPECT_NEAR(binned.kf, 2.5, 1e-12);  // 10 = kf 2^2
  EXPECT_EQ(binned.n_min, 10);
  EXPECT_EQ(binned.n_max, 1000);
  EXPECT_TRUE(std::isnan(fit_power_law_binned(samples, 1, 999, 10).df));  // one size left
  EXPECT_THROW(fit_power_law_binned(samples, 1, 1000, 0), std::invalid_argument);
}
