#include "fracstudy/tools/mcp.hpp"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <istream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <stop_token>
#include <string>
#include <system_error>
#include <thread>

#include "fracstudy/kernels/models.hpp"
#include "fracstudy/tools/json_input.hpp"
#include "fracstudy/version.hpp"
#include "json_fields.hpp"

namespace fracstudy::tools {
namespace {

using nlohmann::json;

// JSON-RPC 2.0 error codes; -32002 is "not initialized" (as in LSP), -32000 "busy".
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
constexpr int kNotInitialized = -32002;
constexpr int kBusy = -32000;

json error_response(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

json result_response(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

/// The version to speak: the client's when we know it, else our newest.
std::string negotiate(const json& params) {
  const std::string asked = text_field(params, "protocolVersion");
  for (const char* version : kMcpProtocolVersions) {
    if (asked == version) return asked;
  }
  return kMcpProtocolVersions[0];
}

/// A tools/call in progress: whether it should stop (the client cancelled it, or the
/// session is ending) and whether its answer is still wanted.
struct CallState {
  std::atomic<bool> stop{false};
  std::atomic<bool> cancelled_by_client{false};
};

bool usable_id(const json& id) {
  return id.is_string() || id.is_number_integer();
}

/// One server session. The reading thread answers initialize, ping and tools/list itself,
/// and hands each tools/call to a thread of its own, so a long call (wait_for_study) never
/// holds up the others, ping included.
class Session {
 public:
  Session(ToolServer& server, std::ostream& out, std::ostream& log, const McpOptions& options)
      : server_(server), out_(out), log_(log), options_(options) {
    context_client_ = "mcp-" + std::to_string(::getpid());
  }

  ~Session() { finish(); }

  /// Handles one line; answers go out as they are ready.
  void handle_line(const std::string& line) {
    json response;
    try {
      response = answer(line);
    } catch (const std::exception& error) {  // whatever a message does, the server goes on
      log("a message could not be handled: " + std::string(error.what()));
      response = error_response(nullptr, kInternalError, "internal error");
    }
    if (!response.is_null()) send(response);
  }

  void send(const json& message) {
    const std::string text = dump_untrusted(message) + "\n";
    const std::lock_guard lock(out_mutex_);
    out_ << text << std::flush;
  }

  /// At the end of input: calls still going are cancelled and awaited; with --on-exit
  /// cancel, the studies this session started are asked to stop.
  void finish() {
    {
      std::unique_lock lock(calls_mutex_);
      for (auto& [id, call] : in_flight_)
        call->stop.store(true);  // a wait returns now; its answer still goes out
      calls_done_.wait(lock, [this] { return in_flight_.empty(); });
    }
    if (options_.cancel_on_exit && !finished_) {
      finished_ = true;  // once, even when a cancel below fails
      for (const auto& id : server_.started_studies()) {
        try {
          if (server_.cancel_if_own(id)) log("the session ended: cancelled " + id);
        } catch (const std::exception& error) {  // its workspace or folder is gone
          log("the session ended: could not cancel " + id + ": " + error.what());
        }
      }
    }
    finished_ = true;
  }

 private:
  void log(const std::string& text) {
    const std::lock_guard lock(out_mutex_);
    log_ << "fracstudy mcp: " << text << "\n" << std::flush;
  }

  /// The response to one line, or null for a notification or a call answered later.
  json answer(const std::string& line) {
    std::string problem;
    const std::optional<json> parsed = parse_untrusted_json(line, &problem);
    if (!parsed) return error_response(nullptr, kParseError, "parse error: " + problem);
    const json& message = *parsed;
    if (message.is_array()) {
      return error_response(nullptr, kInvalidRequest, "batches are not supported");
    }
    if (message.is_object() && !message.contains("method") &&
        (message.contains("result") || message.contains("error"))) {
      return nullptr;  // a client's response (this server asks nothing): never answered
    }
    if (!message.is_object() || text_field(message, "jsonrpc") != "2.0" ||
        !message.contains("method") || !message["method"].is_string()) {
      const auto id = message.is_object() ? message.find("id") : message.end();
      return error_response(id != message.end() && usable_id(*id) ? *id : json(nullptr),
                            kInvalidRequest, "not a JSON-RPC 2.0 request");
    }
    const std::string method = message["method"];
    const json params = message.contains("params") ? message["params"] : json::object();
    if (!message.contains("id")) {
      notification(method, params);
      return nullptr;
    }
    const json& id = message["id"];
    if (!usable_id(id)) {
      return error_response(nullptr, kInvalidRequest, "id must be a string or an integer");
    }
    if (!params.is_object()) return error_response(id, kInvalidParams, "params must be an object");
    if (method == "initialize") {
      initialized_ = true;
      return result_response(id, initialize_result(params));
    }
    if (method == "ping") return result_response(id, json::object());
    if (!initialized_) {
      return error_response(id, kNotInitialized,
                            "the session is not initialized: send "
                            "initialize first");
    }
    if (method == "tools/list") {
      // One page holds every tool: no cursor this server gave can be sent back.
      if (params.contains("cursor")) return error_response(id, kInvalidParams, "invalid cursor");
      return result_response(id, {{"tools", server_.definitions()}});
    }
    if (method == "tools/call") return call_tool(id, params);
    return error_response(id, kMethodNotFound, "method not found: " + echo(method));
  }

  json initialize_result(const json& params) const {
    return {{"protocolVersion", negotiate(params)},
            {"capabilities", {{"tools", {{"listChanged", false}}}}},
            {"serverInfo", {{"name", "fracstudy"}, {"title", "fracstudy"}, {"version", kVersion}}},
            {"instructions",
             "Runs parametric studies of fractal aggregation simulations (" +
                 kernels::model_names(", ") +
                 "). Start one with run_parametric_study, call wait_for_study until it has "
                 "ended (a final status: COMPLETED, PARTIALLY_FAILED, FAILED, CANCELLED or "
                 "INTERRUPTED), then read get_study_results. Studies keep running when this "
                 "session ends" +
                 std::string(options_.cancel_on_exit ? ", unless this server was started "
                                                       "with --on-exit cancel (it was)"
                                                     : "") +
                 "."}};
  }

  void notification(const std::string& method, const json& params) {
    if (method != "notifications/cancelled" || !params.is_object()) return;
    const auto request = params.find("requestId");
    if (request == params.end() || !usable_id(*request)) return;
    const std::lock_guard lock(calls_mutex_);
    if (const auto found = in_flight_.find(request->dump()); found != in_flight_.end()) {
      found->second->cancelled_by_client.store(true);
      found->second->stop.store(true);
    }
  }

  json call_tool(const json& id, const json& params) {
    if (!params.contains("name") || !params["name"].is_string()) {
      return error_response(id, kInvalidParams, "tools/call needs params.name (a string)");
    }
    const std::string name = params["name"];
    if (!ToolServer::find_tool(name)) {
      return error_response(id, kInvalidParams, "unknown tool: " + echo(name));
    }
    const json arguments = params.contains("arguments") ? params["arguments"] : json::object();
    json progress_token = nullptr;
    if (const auto meta = params.find("_meta"); meta != params.end() && meta->is_object()) {
      if (const auto token = meta->find("progressToken");
          token != meta->end() && usable_id(*token)) {
        progress_token = *token;
      }
    }
    auto state = std::make_shared<CallState>();
    {
      const std::lock_guard lock(calls_mutex_);
      if (in_flight_.size() >= options_.max_calls_in_flight) {
        return error_response(id, kBusy,
                              "busy: " + std::to_string(in_flight_.size()) +
                                  " calls are in progress, the most at once; try again");
      }
      if (!in_flight_.emplace(id.dump(), state).second) {
        return error_response(id, kInvalidRequest, "a request with this id is in progress");
      }
    }
    try {
      std::thread([this, id, name, arguments, progress_token, state] {
        run_call(id, name, arguments, progress_token, *state);
      }).detach();
    } catch (const std::system_error&) {  // no thread to be had: refused, not lost
      const std::lock_guard lock(calls_mutex_);
      in_flight_.erase(id.dump());
      return error_response(id, kBusy, "busy: no thread for the call; try again");
    }
    return nullptr;
  }

  void run_call(const json& id, const std::string& name, const json& arguments,
                const json& progress_token, const CallState& state) {
    CallContext context;
    context.client = context_client_;
    context.cancelled = &state.stop;
    if (!progress_token.is_null()) {
      context.progress = [this, progress_token](double done, double total,
                                                const std::string& message) {
        send({{"jsonrpc", "2.0"},
              {"method", "notifications/progress"},
              {"params",
               {{"progressToken", progress_token},
                {"progress", done},
                {"total", total},
                {"message", message}}}});
      };
    }
    json response;
    try {
      const ToolResult result = server_.call(name, arguments, context);
      log(name + (result.is_error ? " -> error" : " -> ok"));
      json content = json::array({{{"type", "text"}, {"text", result.value.dump()}}});
      for (const auto& item : result.extra_content)
        content.push_back(item);
      response = result_response(id, {{"content", content},
                                      {"structuredContent", result.value},
                                      {"isError", result.is_error}});
    } catch (const std::exception& error) {
      response = error_response(id, kInternalError, "the call failed: " + echo(error.what()));
    }
    // A cancelled request is not answered (MCP: the receiver should not respond).
    if (!state.cancelled_by_client.load()) send(response);
    const std::lock_guard lock(calls_mutex_);
    in_flight_.erase(id.dump());
    calls_done_.notify_all();
  }

  ToolServer& server_;
  std::ostream& out_;
  std::ostream& log_;
  McpOptions options_;
  std::string context_client_;
  bool initialized_ = false;
  bool finished_ = false;
  std::mutex out_mutex_;
  std::mutex calls_mutex_;
  std::condition_variable calls_done_;
  std::map<std::string, std::shared_ptr<CallState>> in_flight_;
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

int serve_mcp(ToolServer& server, std::istream& in, std::ostream& out, std::ostream& log,
              const McpOptions& options) {
  Session session(server, out, log, options);
  // Looks about once a second for a freed slot and a study waiting for it, so queued
  // studies start while the client only waits (every call looks too).
  std::mutex dispatch_mutex;
  std::condition_variable_any dispatch_wake;
  std::jthread dispatcher([&server, &dispatch_mutex, &dispatch_wake](std::stop_token stop) {
    while (!stop.stop_requested()) {
      try {
        server.dispatch_queue();
      } catch (const std::exception&) {  // a broken workspace: the calls say so
      }
      std::unique_lock lock(dispatch_mutex);
      dispatch_wake.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
    }
  });
  std::string line;
  bool too_long = false;
  while (read_message(in, line, too_long)) {
    if (too_long) {
      session.send(
          error_response(nullptr, kInvalidRequest,
                         "message longer than " + std::to_string(kMaxMessageBytes) + " bytes"));
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    session.handle_line(line);
  }
  dispatcher.request_stop();
  dispatcher.join();
  session.finish();
  return 0;
}

}  // namespace fracstudy::tools
