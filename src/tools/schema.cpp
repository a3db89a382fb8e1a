#include "fracstudy/tools/schema.hpp"

#include <cmath>
#include <regex>

#include "fracstudy/tools/json_input.hpp"

namespace fracstudy::tools {
namespace {

using nlohmann::json;

std::string join_field(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string format_number(double value) {
  if (std::floor(value) == value && std::abs(value) < 1e15) {
    return std::to_string(static_cast<long long>(value));
  }
  return json(value).dump();
}

bool has_type(const json& instance, const std::string& type) {
  if (type == "object") return instance.is_object();
  if (type == "array") return instance.is_array();
  if (type == "string") return instance.is_string();
  if (type == "boolean") return instance.is_boolean();
  if (type == "null") return instance.is_null();
  if (type == "number") return instance.is_number();
  if (type == "integer") {
    return instance.is_number_integer() ||
           (instance.is_number_float() && std::isfinite(instance.get<double>()) &&
            std::floor(instance.get<double>()) == instance.get<double>());
  }
  return false;
}

std::string a_or_an(const std::string& type) {
  return (type == "integer" || type == "object" || type == "array" ? "an " : "a ") + type;
}

/// Validates one instance at `field`.
class Validator {
 public:
  std::optional<SchemaViolation> check(const json& schema, const json& instance,
                                       const std::string& field) const {
    if (schema.is_boolean()) {
      if (schema.get<bool>()) return std::nullopt;
      return SchemaViolation{field, "is not allowed"};
    }
    if (auto v = check_type(schema, instance, field)) return v;
    if (auto v = check_enum(schema, instance, field)) return v;
    if (instance.is_number()) {
      if (auto v = check_number(schema, instance.get<double>(), field)) return v;
    }
    if (instance.is_string()) {
      if (auto v = check_string(schema, instance.get<std::string>(), field)) return v;
    }
    if (instance.is_array()) {
      if (auto v = check_array(schema, instance, field)) return v;
    }
    if (instance.is_object()) {
      if (auto v = check_object(schema, instance, field)) return v;
    }
    if (schema.contains("oneOf")) return check_one_of(schema, instance, field);
    return std::nullopt;
  }

 private:
  static std::optional<SchemaViolation> check_type(const json& schema, const json& instance,
                                                   const std::string& field) {
    if (!schema.contains("type")) return std::nullopt;
    const auto& type = schema["type"];
    if (type.is_string()) {
      if (has_type(instance, type.get<std::string>())) return std::nullopt;
      return SchemaViolation{field, "must be " + a_or_an(type.get<std::string>())};
    }
    for (const auto& option : type) {
      if (has_type(instance, option.get<std::string>())) return std::nullopt;
    }
    return SchemaViolation{field, "must be of type " + type.dump()};
  }

  static std::optional<SchemaViolation> check_enum(const json& schema, const json& instance,
                                                   const std::string& field) {
    if (schema.contains("const") && instance != schema["const"]) {
      return SchemaViolation{field, "must be " + schema["const"].dump()};
    }
    if (!schema.contains("enum")) return std::nullopt;
    for (const auto& allowed : schema["enum"]) {
      if (instance == allowed) return std::nullopt;
    }
    std::string options;
    for (const auto& allowed : schema["enum"]) {
      options += (options.empty() ? "" : ", ") + allowed.dump();
    }
    return SchemaViolation{field, "must be one of " + options};
  }

  static std::optional<SchemaViolation> check_number(const json& schema, double value,
                                                     const std::string& field) {
    if (schema.contains("minimum") && value < schema["minimum"].get<double>()) {
      return SchemaViolation{field, "must be >= " + format_number(schema["minimum"])};
    }
    if (schema.contains("maximum") && value > schema["maximum"].get<double>()) {
      return SchemaViolation{field, "must be <= " + format_number(schema["maximum"])};
    }
    if (schema.contains("exclusiveMinimum") && value <= schema["exclusiveMinimum"].get<double>()) {
      return SchemaViolation{field, "must be > " + format_number(schema["exclusiveMinimum"])};
    }
    if (schema.contains("exclusiveMaximum") && value >= schema["exclusiveMaximum"].get<double>()) {
      return SchemaViolation{field, "must be < " + format_number(schema["exclusiveMaximum"])};
    }
    return std::nullopt;
  }

  static std::optional<SchemaViolation> check_string(const json& schema, const std::string& text,
                                                     const std::string& field) {
    if (schema.contains("minLength") && text.size() < schema["minLength"].get<std::size_t>()) {
      return SchemaViolation{field,
                             "must have at least " + schema["minLength"].dump() + " characters"};
    }
    if (schema.contains("maxLength") && text.size() > schema["maxLength"].get<std::size_t>()) {
      return SchemaViolation{field,
                             "must have at most " + schema["maxLength"].dump() + " characters"};
    }
    if (schema.contains("pattern")) {
      const std::string pattern = schema["pattern"].get<std::string>();
      if (!std::regex_search(text, std::regex(pattern, std::regex::ECMAScript))) {
        return SchemaViolation{field, "must match the pattern " + pattern};
      }
    }
    return std::nullopt;
  }

  std::optional<SchemaViolation> check_array(const json& schema, const json& instance,
                                             const std::string& field) const {
    if (schema.contains("minItems") && instance.size() < schema["minItems"].get<std::size_t>()) {
      return SchemaViolation{field, "must have at least " + schema["minItems"].dump() + " items"};
    }
    if (schema.contains("maxItems") && instance.size() > schema["maxItems"].get<std::size_t>()) {
      return SchemaViolation{field, "must have at most " + schema["maxItems"].dump() + " items"};
    }
    if (!schema.contains("items")) return std::nullopt;
    for (std::size_t i = 0; i < instance.size(); ++i) {
      if (auto v = check(schema["items"], instance[i], field + "[" + std::to_string(i) + "]")) {
        return v;
      }
    }
    return std::nullopt;
  }

  std::optional<SchemaViolation> check_object(const json& schema, const json& instance,
                                              const std::string& field) const {
    const json properties = schema.value("properties", json::object());
    for (const auto& name : schema.value("required", json::array())) {
      if (!instance.contains(name.get<std::string>())) {
        return SchemaViolation{join_field(field, name.get<std::string>()), "is required"};
      }
    }
    for (const auto& [key, value] : instance.items()) {
      if (properties.contains(key)) {
        if (auto v = check(properties[key], value, join_field(field, key))) return v;
        continue;
      }
      if (!schema.contains("additionalProperties")) continue;
      const auto& additional = schema["additionalProperties"];
      if (additional.is_boolean() && !additional.get<bool>()) {
        std::string known;
        for (const auto& [name, unused] : properties.items()) {
          known += (known.empty() ? "" : ", ") + name;
        }
        return SchemaViolation{join_field(field, echo(key)),
                               known.empty() ? "is not a known field (this tool takes none)"
                                             : "is not a known field (known: " + known + ")"};
      }
      if (auto v = check(additional, value, join_field(field, echo(key)))) return v;
    }
    return std::nullopt;
  }

  std::optional<SchemaViolation> check_one_of(const json& schema, const json& instance,
                                              const std::string& field) const {
    int matches = 0;
    for (const auto& option : schema["oneOf"])
      matches += !check(option, instance, field);
    if (matches == 1) return std::nullopt;
    const std::string rule = schema.value("x-oneOf-message", "must match exactly one alternative");
    return SchemaViolation{field, rule};
  }
};

}  // namespace

std::optional<SchemaViolation> validate(const nlohmann::json& schema,
                                        const nlohmann::json& instance) {
  return Validator().check(schema, instance, "");
}

}  // namespace fracstudy::tools
