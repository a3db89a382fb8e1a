#pragma once
// Reading fields of JSON that anybody may have written (a client's message, a file of the
// workspace) without throwing (private to the tools layer): nlohmann's value() and get<>
// throw when a key holds another type.
#include <nlohmann/json.hpp>
#include <string>

namespace fracstudy::tools {

/// `object[key]` when `object` is an object and that field a string; "" otherwise.
inline std::string text_field(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return "";
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : "";
}

}  // namespace fracstudy::tools
