#include "fracstudy/exec/protocol.hpp"

#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace fracstudy::exec {
namespace {

/// Appends fixed-size values and length-prefixed strings to a byte buffer.
class Writer {
 public:
  template <typename T>
  void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* bytes = reinterpret_cast<const std::byte*>(&value);
    buffer_.insert(buffer_.end(), bytes, bytes + sizeof(T));
  }
  void put_string(const std::string& text) {
    put(static_cast<std::uint32_t>(text.size()));
    const auto* bytes = reinterpret_cast<const std::byte*>(text.data());
    buffer_.insert(buffer_.end(), bytes, bytes + text.size());
  }
  void put_floats(const std::vector<float>& values) {
    const auto* bytes = reinterpret_cast<const std::byte*>(values.data());
    buffer_.insert(buffer_.end(), bytes, bytes + values.size() * sizeof(float));
  }
  /// The metrics with their count, so a reader never takes one metric for another.
  void put_metrics(const kernels::MetricValues& metrics) {
    put(static_cast<std::uint32_t>(kernels::kMetricCount));
    for (double value : metrics)
      put(value);
  }
  std::vector<std::byte> take() { return std::move(buffer_); }

 private:
  std::vector<std::byte> buffer_;
};

/// Reads what Writer wrote, checking bounds.
class Reader {
 public:
  explicit Reader(const std::vector<std::byte>& buffer) : buffer_(buffer) {}
  template <typename T>
  T get() {
    T value;
    need(sizeof(T));
    std::memcpy(&value, buffer_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return value;
  }
  /// A record count, checked against the payload so a bad message cannot allocate much.
  std::size_t get_count(std::size_t payload_bytes) {
    const auto count = get<std::uint64_t>();
    if (count > payload_bytes) throw std::runtime_error("malformed message");
    return static_cast<std::size_t>(count);
  }
  void get_floats(std::vector<float>& values) {
    need(values.size() * sizeof(float));
    std::memcpy(values.data(), buffer_.data() + offset_, values.size() * sizeof(float));
    offset_ += values.size() * sizeof(float);
  }
  /// Metrics as put_metrics wrote them; any beyond this build's are skipped.
  void get_metrics(kernels::MetricValues& metrics) {
    const auto count = get<std::uint32_t>();
    for (std::uint32_t i = 0; i < count; ++i) {
      const auto value = get<double>();
      if (i < kernels::kMetricCount) metrics[i] = value;
    }
  }
  std::string get_string() {
    const auto length = get<std::uint32_t>();
    need(length);
    std::string text(reinterpret_cast<const char*>(buffer_.data() + offset_), length);
    offset_ += length;
    return text;
  }

 private:
  void need(std::size_t bytes) const {
    if (offset_ + bytes > buffer_.size()) throw std::runtime_error("truncated message");
  }
  const std::vector<std::byte>& buffer_;
  std::size_t offset_ = 0;
};

void put_outcomes(Writer& writer, const std::vector<sched::Outcome>& outcomes) {
  writer.put(static_cast<std::uint64_t>(outcomes.size()));
  for (const auto& outcome : outcomes) {
    writer.put(static_cast<std::uint64_t>(outcome.task));
    writer.put(static_cast<std::int32_t>(outcome.rank));
    writer.put(static_cast<std::uint8_t>(outcome.succeeded));
    writer.put(outcome.wall_time_s);
    writer.put_metrics(outcome.metrics);
    writer.put_string(outcome.error);
    writer.put(static_cast<std::uint64_t>(outcome.cluster.positions.size()));
    writer.put_floats(outcome.cluster.positions);
    writer.put(static_cast<std::uint64_t>(outcome.cluster.structure_factor.size()));
    writer.put_floats(outcome.cluster.structure_factor);
  }
}

std::vector<sched::Outcome> get_outcomes(Reader& reader, std::size_t payload_bytes) {
  std::vector<sched::Outcome> outcomes(reader.get_count(payload_bytes));
  for (auto& outcome : outcomes) {
    outcome.task = reader.get<std::uint64_t>();
    outcome.rank = reader.get<std::int32_t>();
    outcome.succeeded = reader.get<std::uint8_t>() != 0;
    outcome.wall_time_s = reader.get<double>();
    reader.get_metrics(outcome.metrics);
    outcome.error = reader.get_string();
    outcome.cluster.positions.resize(reader.get_count(payload_bytes));
    reader.get_floats(outcome.cluster.positions);
    outcome.cluster.structure_factor.resize(reader.get_count(payload_bytes));
    reader.get_floats(outcome.cluster.structure_factor);
  }
  return outcomes;
}

}  // namespace

std::vector<std::byte> encode_outcomes(const std::vector<sched::Outcome>& outcomes) {
  Writer writer;
  put_outcomes(writer, outcomes);
  return writer.take();
}

std::vector<sched::Outcome> decode_outcomes(const std::vector<std::byte>& payload) {
  Reader reader(payload);
  return get_outcomes(reader, payload.size());
}

std::vector<std::byte> encode_report(const Report& report) {
  Writer writer;
  put_outcomes(writer, report.outcomes);
  writer.put(static_cast<std::uint64_t>(report.running.size()));
  for (const std::size_t task : report.running)
    writer.put(static_cast<std::uint64_t>(task));
  writer.put(report.journal_token);
  writer.put(static_cast<std::uint64_t>(report.kept.size()));
  for (const auto& result : report.kept) {
    writer.put(static_cast<std::uint64_t>(result.task));
    writer.put(static_cast<std::int32_t>(result.rank));
    writer.put(result.wall_time_s);
  }
  return writer.take();
}

Report decode_report(const std::vector<std::byte>& payload) {
  Reader reader(payload);
  Report report;
  report.outcomes = get_outcomes(reader, payload.size());
  report.running.resize(reader.get_count(payload.size()));
  for (auto& task : report.running)
    task = reader.get<std::uint64_t>();
  report.journal_token = reader.get<std::uint64_t>();
  report.kept.resize(reader.get_count(payload.size()));
  for (auto& result : report.kept) {
    result.task = reader.get<std::uint64_t>();
    result.rank = reader.get<std::int32_t>();
    result.wall_time_s = reader.get<double>();
  }
  return report;
}

std::vector<std::byte> encode_assignments(const std::vector<sched::Assignment>& chunk) {
  Writer writer;
  writer.put(static_cast<std::uint64_t>(chunk.size()));
  for (const auto& assignment : chunk) {
    writer.put(static_cast<std::uint64_t>(assignment.task));
    writer.put(static_cast<std::int32_t>(assignment.attempt));
  }
  return writer.take();
}

std::vector<sched::Assignment> decode_assignments(const std::vector<std::byte>& payload) {
  Reader reader(payload);
  std::vector<sched::Assignment> chunk(reader.get_count(payload.size()));
  for (auto& assignment : chunk) {
    assignment.task = reader.get<std::uint64_t>();
    assignment.attempt = reader.get<std::int32_t>();
  }
  return chunk;
}

void send(transport::Transport& transport, int destination, Tag tag,
          const std::vector<std::byte>& payload) {
  transport.send(destination, static_cast<int>(tag), payload);
}

std::vector<std::byte> journal_seen_payload(std::uint64_t token) {
  Writer writer;
  writer.put(token);
  return writer.take();
}

std::uint64_t journal_seen_token(const transport::Message& message) {
  Reader reader(message.payload);
  return reader.get<std::uint64_t>();
}

std::vector<std::byte> stop_payload(StopReason reason) {
  return {static_cast<std::byte>(reason)};
}

StopReason stop_reason(const transport::Message& message) {
  return message.payload.empty() ? StopReason::Done : static_cast<StopReason>(message.payload[0]);
}

}  // namespace fracstudy::exec
