#include "fracstudy/tools/json_input.hpp"

namespace fracstudy::tools {
namespace {

/// Thrown by the parser's callback to stop at the first level too deep.
struct TooDeep {};

}  // namespace

std::optional<nlohmann::json> parse_untrusted_json(std::string_view text, std::string* problem) {
  const auto depth_check = [](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    const bool opens = event == nlohmann::json::parse_event_t::object_start ||
                       event == nlohmann::json::parse_event_t::array_start;
    if (opens && depth >= kMaxJsonDepth) throw TooDeep{};
    return true;
  };
  try {
    nlohmann::json value = nlohmann::json::parse(text, depth_check, false);
    if (!value.is_discarded()) return value;
    if (problem != nullptr) *problem = "not valid JSON";
  } catch (const TooDeep&) {
    if (problem != nullptr) {
      *problem = "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    }
  }
  return std::nullopt;
}

std::string echo(const std::string& text) {
  if (text.size() <= 64) return text;
  std::size_t cut = 64;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut;  // a continuation byte: back to the start of its character
  return text.substr(0, cut) + "...";
}

std::string dump_untrusted(const nlohmann::json& message, int indent) {
  return message.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace fracstudy::tools
