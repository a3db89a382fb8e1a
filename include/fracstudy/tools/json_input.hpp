#pragma once
/// JSON that anybody may have written (a client's message or arguments, a file of the
/// workspace), parsed without letting it crash the reader.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace fracstudy::tools {

/// The deepest nesting of arrays and objects accepted. No tool's arguments nest beyond a
/// handful of levels; nlohmann parses any depth without recursion, but copying or comparing a
/// value recurses, and 150,000 levels (a 300 kB line) overflowed the stack.
inline constexpr int kMaxJsonDepth = 64;

/// The value of `text`, or nullopt with `problem` set ("not valid JSON", or nested deeper
/// than kMaxJsonDepth levels).
std::optional<nlohmann::json> parse_untrusted_json(std::string_view text,
                                                   std::string* problem = nullptr);

/// The same, as a discarded value (is_discarded()) when it is not acceptable JSON.
inline nlohmann::json parse_untrusted_or_discarded(std::string_view text) {
  auto value = parse_untrusted_json(text);
  return value ? std::move(*value) : nlohmann::json(nlohmann::json::value_t::discarded);
}

/// What a client sent, as far as an answer repeats it: at most 64 bytes, cut between two
/// characters (a cut inside one made the answer invalid UTF-8), "..." after a cut.
std::string echo(const std::string& text);

/// `message` as one line of JSON; text that is not valid UTF-8 (a file name in an error,
/// a client's string cut short) is replaced rather than thrown on.
std::string dump_untrusted(const nlohmann::json& message, int indent = -1);

}  // namespace fracstudy::tools
