#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "fracstudy/kernels/random.hpp"

using fracstudy::kernels::hash_combine;
using fracstudy::kernels::Rng;

TEST(Random, SameSeedGivesSameStream) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next();
    EXPECT_EQ(x, b.next());
    differs |= x != c.next();
  }
  EXPECT_TRUE(differs);
}

TEST(Random, StreamIsPinnedAcrossPlatforms) {
  // Reference values of xoshiro256** seeded through SplitMix64 from 0; a change here
  // would silently change every published result, so it must be deliberate.
  Rng rng(0);
  const std::uint64_t first = rng.next();
  Rng again(0);
  EXPECT_EQ(first, again.next());
  EXPECT_EQ(first, 0x99ec5f36cb75f2b4ULL);
}

TEST(Random, UniformHasTheRightMoments) {
  Rng rng(7);
  const int n = 200000;
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum_sq += u * u;
  }
  // Mean 1/2 and variance 1/12; 5 standard errors of the mean is ~0.0032.
  EXPECT_NEAR(sum / n, 0.5, 0.0035);
  EXPECT_NEAR(sum_sq / n - (sum / n) * (sum / n), 1.0 / 12, 0.002);
}

TEST(Random, BelowIsUniformOverSmallRanges) {
  Rng rng(11);
  std::vector<int> counts(6, 0);
  for (int i = 0; i < 60000; ++i)
    ++counts[rng.below(6)];
  // Each bin expects 10000 with standard deviation ~91; 6 sigma bound.
  for (int count : counts)
    EXPECT_NEAR(count, 10000, 550);
}

TEST(Random, HashDependsOnEveryInputAndOrder) {
  const auto h1 = hash_combine(hash_combine(1, "study"), 3);
  const auto h2 = hash_combine(hash_combine(1, "study"), 4);
  const auto h3 = hash_combine(hash_combine(2, "study"), 3);
  const auto h4 = hash_combine(hash_combine(1, "studx"), 3);
  EXPECT_NE(h1, h2);
  EXPECT_NE(h1, h3);
  EXPECT_NE(h1, h4);
  EXPECT_NE(hash_combine(hash_combine(0, 1), 2), hash_combine(hash_combine(0, 2), 1));
}
