#include "fracstudy/tools/mcp.hpp"

#include <istream>
#include <ostream>
#include <string>

#include "fracstudy/kernels/models.hpp"
#include "fracstudy/version.hpp"

namespace fracstudy::tools {
namespace {

using nlohmann::json;

// JSON-RPC 2.0 error codes.
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;

json error_response(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

json result_response(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

/// `object[key]` when it is a string; "" otherwise (absent, a number, not an object). The
/// JSON library throws when json::value() meets another type: a hostile message must not
/// end the server.
std::string string_field(const json& object, const char* key) {
  if (!object.is_object()) return "";
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : "";
}

/// What a client sent, as far as an error message repeats it: at most 64 characters.
std::string echo(const std::string& text) {
  return text.size() <= 64 ? text : text.substr(0, 64) + "...";
}

/// The version to speak: the client's when we know it, else our newest.
std::string negotiate(const json& params) {
  const std::string asked = string_field(params, "protocolVersion");
  for (const char* version : kMcpProtocolVersions) {
    if (asked == version) return asked;
  }
  return kMcpProtocolVersions[0];
}

/// One server session: answers requests in order.
class Session {
 public:
  Session(ToolServer& server, std::ostream& log) : server_(server), log_(log) {}

  /// The response to one line, or null for a notification.
  json handle_line(const std::string& line) {
    const json message = json::parse(line, nullptr, false);
    if (message.is_discarded()) return error_response(nullptr, kParseError, "parse error");
    if (message.is_array()) {
      return error_response(nullptr, kInvalidRequest, "batches are not supported");
    }
    if (!message.is_object() || string_field(message, "jsonrpc") != "2.0" ||
        !message.contains("method") || !message["method"].is_string()) {
      const auto id = message.is_object() ? message.find("id") : message.end();
      const bool usable_id = id != message.end() && (id->is_string() || id->is_number_integer());
      return error_response(usable_id ? *id : json(nullptr), kInvalidRequest,
                            "not a JSON-RPC 2.0 request");
    }
    if (!message.contains("id")) return nullptr;  // a notification: nothing to answer
    const json& id = message["id"];
    if (!id.is_string() && !id.is_number_integer()) {
      return error_response(nullptr, kInvalidRequest, "id must be a string or an integer");
    }
    return dispatch(id, message["method"], message.value("params", json::object()));
  }

 private:
  json dispatch(const json& id, const std::string& method, const json& params) {
    if (method == "initialize") {
      return result_response(
          id, {{"protocolVersion", negotiate(params)},
               {"capabilities", {{"tools", {{"listChanged", false}}}}},
               {"serverInfo", {{"name", "fracstudy"}, {"version", kVersion}}},
               {"instructions",
                "Runs parametric studies of fractal aggregation simulations (" +
                    kernels::model_names(", ") +
                    "). Start one with run_parametric_study, poll check_study_status until "
                    "COMPLETED, then read get_study_results."}});
    }
    if (method == "ping") return result_response(id, json::object());
    if (method == "tools/list") return result_response(id, {{"tools", tool_definitions()}});
    if (method == "tools/call") return call_tool(id, params);
    return error_response(id, kMethodNotFound, "method not found: " + echo(method));
  }

  json call_tool(const json& id, const json& params) {
    if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) {
      return error_response(id, kInvalidParams, "tools/call needs params.name (a string)");
    }
    const std::string name = params["name"];
    if (!ToolServer::find_tool(name)) {
      return error_response(id, kInvalidParams, "unknown tool: " + echo(name));
    }
    const json arguments = params.value("arguments", json::object());
    const ToolResult result = server_.call(name, arguments);
    log_ << "fracstudy mcp: " << name << (result.is_error ? " -> error" : " -> ok") << "\n";
    json reply = {{"content", {{{"type", "text"}, {"text", result.value.dump()}}}},
                  {"isError", result.is_error}};
    if (!result.is_error) reply["structuredContent"] = result.value;
    return result_response(id, reply);
  }

  ToolServer& server_;
  std::ostream& log_;
};

/// Reads the next line into `line` (without its newline), keeping at most
/// kMaxMessageBytes of it; sets `too_long` when more was skipped. False at the end.
bool read_message(std::istream& in, std::string& line, bool& too_long) {
  line.clear();
  too_long = false;
  std::streambuf* buffer = in.rdbuf();
  for (;;) {
    const int c = buffer->sbumpc();
    if (c == std::char_traits<char>::eof()) {
      in.setstate(std::ios::eofbit);
      return !line.empty() || too_long;
    }
    if (c == '\n') return true;
    if (line.size() < kMaxMessageBytes) {
      line.push_back(static_cast<char>(c));
    } else {
      too_long = true;
    }
  }
}

}  // namespace

int serve_mcp(ToolServer& server, std::istream& in, std::ostream& out, std::ostream& log) {
  Session session(server, log);
  std::string line;
  bool too_long = false;
  while (read_message(in, line, too_long)) {
    if (too_long) {
      out << error_response(nullptr, kInvalidRequest,
                            "message longer than " + std::to_string(kMaxMessageBytes) + " bytes")
                 .dump()
          << "\n"
          << std::flush;
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json response;
    try {
      response = session.handle_line(line);
    } catch (const std::exception& error) {  // whatever a message does, the server goes on
      log << "fracstudy mcp: a message could not be handled: " << error.what() << "\n";
      response = error_response(nullptr, kInvalidRequest, "invalid request");
    }
    if (!response.is_null()) out << response.dump() << "\n" << std::flush;
  }
  return 0;
}

}  // namespace fracstudy::tools
