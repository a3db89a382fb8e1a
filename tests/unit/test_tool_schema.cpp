// The tools' argument checking: the advertised schema, applied to what a caller sends.
#include <gtest/gtest.h>

#include "fracstudy/tools/schema.hpp"
#include "fracstudy/tools/tools.hpp"

using fracstudy::tools::tool_definitions;
using fracstudy::tools::validate;
using nlohmann::json;

namespace {

json run_schema() {
  return tool_definitions(fracstudy::tools::ToolLimits{})[0]["inputSchema"];
}

}  // namespace

TEST(ToolSchema, TheBriefsExampleIsValid) {
  EXPECT_FALSE(validate(run_schema(), json::parse(R"({"algorithm": "DLA",
      "variable_parameter": "n_particles", "values": [100, 200, 300]})")));
}

TEST(ToolSchema, ViolationsNameTheFieldAndTheRule) {
  struct Case {
    const char* arguments;
    const char* field;
    const char* message;
  };
  const Case cases[] = {
      {R"({})", "algorithm", "is required"},
      {R"({"algorithm": "XYZ"})", "algorithm",
       "must be one of \"DLA\", \"CCA\", \"BALLISTIC\", \"EDEN\""},
      {R"({"algorithm": "DLA", "values": []})", "values", "must have at least 1 items"},
      {R"({"algorithm": "DLA", "values": [1, "x"]})", "values[1]", "must be a number"},
      {R"({"algorithm": "DLA", "repetitions": 2.5})", "repetitions", "must be an integer"},
      {R"({"algorithm": "DLA", "repetitions": 0})", "repetitions", "must be >= 1"},
      {R"({"algorithm": "DLA", "base_parameters": {"sticking_probability": 0}})",
       "base_parameters.sticking_probability", "must be > 0"},
      {R"({"algorithm": "DLA", "base_parameters": {"radius": 1}})", "base_parameters.radius",
       "is not a known field"},
      {R"({"algorithm": "DLA", "name": "a/b"})", "name", "must match the pattern"},
      {R"({"algorithm": "DLA", "seed": -1})", "seed", "must be >= 0"},
  };
  for (const auto& c : cases) {
    const auto violation = validate(run_schema(), json::parse(c.arguments));
    ASSERT_TRUE(violation) << c.arguments;
    EXPECT_EQ(violation->field, c.field) << c.arguments;
    EXPECT_NE(violation->message.find(c.message), std::string::npos)
        << c.arguments << " -> " << violation->message;
  }
}

TEST(ToolSchema, WholeNumbersWrittenAsFloatsAreIntegers) {
  EXPECT_FALSE(validate(run_schema(), json::parse(R"({"algorithm": "DLA", "repetitions": 3.0})")));
}

TEST(ToolSchema, OneOfNeedsExactlyOneMatch) {
  const json schema = json::parse(R"({"oneOf": [{"type": "integer"}, {"minimum": 5}]})");
  EXPECT_FALSE(validate(schema, 3));
  EXPECT_FALSE(validate(schema, 5.5));
  EXPECT_TRUE(validate(schema, 7));  // both match
}
