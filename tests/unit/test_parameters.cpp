#include <gtest/gtest.h>

#include "fracstudy/kernels/models.hpp"
#include "fracstudy/kernels/parameters.hpp"

using namespace fracstudy::kernels;

TEST(Parameters, RulesAcceptTheContractsRanges) {
  EXPECT_FALSE(check_parameter(Parameter::NParticles, 1));
  EXPECT_TRUE(check_parameter(Parameter::NParticles, 0));
  EXPECT_TRUE(check_parameter(Parameter::NParticles, 10.5));
  EXPECT_FALSE(check_parameter(Parameter::Dimension, 3));
  EXPECT_TRUE(check_parameter(Parameter::Dimension, 4));
  EXPECT_TRUE(check_parameter(Parameter::ParticleRadius, 0));
  EXPECT_FALSE(check_parameter(Parameter::StickingProbability, 1));
  EXPECT_TRUE(check_parameter(Parameter::StickingProbability, 0));
  EXPECT_TRUE(check_parameter(Parameter::StickingProbability, 1.01));
  EXPECT_TRUE(check_parameter(Parameter::VolumeFraction, 1));
  EXPECT_TRUE(check_parameter(Parameter::ParticleRadius, std::numeric_limits<double>::quiet_NaN()));
}

TEST(Parameters, EachModelTakesOnlyItsParameters) {
  EXPECT_TRUE(uses_parameter(Algorithm::DLA, Parameter::StickingProbability));
  EXPECT_FALSE(uses_parameter(Algorithm::DLA, Parameter::VolumeFraction));
  EXPECT_TRUE(uses_parameter(Algorithm::CCA, Parameter::VolumeFraction));
  EXPECT_FALSE(uses_parameter(Algorithm::EDEN, Parameter::StickingProbability));
}

TEST(Parameters, NamesRoundTrip) {
  for (Parameter p : all_parameters())
    EXPECT_EQ(parameter_from_name(name_of(p)), p);
  EXPECT_FALSE(parameter_from_name("radius"));
}
