#pragma once
/// A JSON Schema (2020-12) validator for the subset of keywords fracstudy's tool schemas
/// use, so that arguments are checked against exactly the schema the tools advertise.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace fracstudy::tools {

/// Where an instance broke its schema, and the rule in words.
struct SchemaViolation {
  std::string field;    ///< e.g. "values", "base_parameters.n_particles", "values[3]"; "" = root
  std::string message;  ///< e.g. "must have at most 100 items"
};

/// Validates `instance` against `schema`. Supported keywords: type, enum, const,
/// properties, required, additionalProperties, items, minItems, maxItems, minimum,
/// maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern, oneOf;
/// annotations (title, description, default, examples) are ignored. Returns the first
/// violation, or nullopt when the instance is valid.
std::optional<SchemaViolation> validate(const nlohmann::json& schema,
                                        const nlohmann::json& instance);

}  // namespace fracstudy::tools
