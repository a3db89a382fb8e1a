#include "fracstudy/io/process_info.hpp"

#include <exception>
#include <fstream>
#include <sstream>

namespace fracstudy::io {

std::vector<std::string> proc_stat_fields(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(in, text);
  const auto close = text.rfind(')');
  std::vector<std::string> fields;
  if (close == std::string::npos) return fields;
  std::istringstream rest(text.substr(close + 1));
  for (std::string field; rest >> field;)
    fields.push_back(field);
  return fields;
}

std::uint64_t process_start_ticks(long pid) {
  constexpr std::size_t kStartTime = 19;  // field 22 of /proc/PID/stat, counted from state
  const auto fields = proc_stat_fields(pid);
  if (fields.size() <= kStartTime) return 0;
  try {
    return std::stoull(fields[kStartTime]);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace fracstudy::io
