#include "fracstudy/study/parser.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "fracstudy/kernels/models.hpp"
#include "fracstudy/study/errors.hpp"

namespace fracstudy::study {

std::optional<std::uint64_t> parse_seed(std::string_view text) {
  std::uint64_t seed = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, seed);
  if (text.empty() || error != std::errc() || stop != end) return std::nullopt;
  return seed;
}

namespace {

using kernels::check_parameter;
using kernels::name_of;
using kernels::parameter_from_name;
using kernels::parameters_of;
using kernels::rule_of;

const std::vector<std::string> kTopKeys = {"output", "seed", "execution", "studies"};
const std::vector<std::string> kExecutionKeys = {"chunk_size",        "max_retries",
                                                 "task_time_limit_s", "checkpoint_interval_s",
                                                 "isolation",         "save_clusters"};
const std::vector<std::string> kStudyKeys = {
    "name",  "algorithm", "base_parameters", "variable_parameter", "values",
    "range", "grid",      "repetitions"};
const std::vector<std::string> kRangeKeys = {"start", "stop", "step"};

constexpr int kMaxRepetitions = 10'000'000;
constexpr int kMaxRetries = 100;

int line_of(const YAML::Node& node) {
  return node.Mark().line + 1;
}

std::string scalar_text(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}

/// Validates one study file, keeping the file name for messages.
class Validator {
 public:
  explicit Validator(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key,
                         const std::string& message) const {
    throw StudyFileError(path_, node.IsDefined() ? line_of(node) : 0, key, message);
  }

  /// A mapping key's text; a list or mapping used as a key is refused.
  std::string key_name(const YAML::Node& key, const std::string& prefix) const {
    if (!key.IsScalar()) fail(key, prefix, "keys must be plain names, got " + scalar_text(key));
    const std::string name = key.as<std::string>();
    if (name == "<<") {  // yaml-cpp reads a merge key as a plain key
      fail(key, prefix.empty() ? name : prefix + "." + name,
           "YAML merge keys are not supported; write the keys out (an alias of a whole value, "
           "*name, works)");
    }
    return name;
  }

  /// Throws for keys outside `known` and for keys given twice.
  void check_keys(const YAML::Node& map, const std::string& prefix,
                  const std::vector<std::string>& known) const {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      const std::string key = key_name(entry.first, prefix);
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      if (!seen.insert(key).second) fail(entry.first, path, "key given twice");
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      const std::string near = nearest_key(key, known);
      std::string message = "unknown key";
      message +=
          near.empty() ? " (allowed: " + join(known) + ")" : "; did you mean '" + near + "'?";
      fail(entry.first, path, message);
    }
  }

  void require_map(const YAML::Node& node, const std::string& key) const {
    if (!node.IsMap()) fail(node, key, "must be a mapping, got " + scalar_text(node));
  }

  double number(const YAML::Node& node, const std::string& key) const {
    double value = 0;
    if (!node.IsScalar() || !YAML::convert<double>::decode(node, value) ||
        node.Tag() == "!" /* quoted */) {
      fail(node, key, "must be a number, got " + scalar_text(node));
    }
    return value;
  }

  std::int64_t integer(const YAML::Node& node, const std::string& key, std::int64_t minimum,
                       std::int64_t maximum) const {
    const double value = number(node, key);
    const std::string allowed =
        "must be an integer from " + std::to_string(minimum) + " to " + std::to_string(maximum);
    if (!std::isfinite(value) || std::floor(value) != value ||
        value < static_cast<double>(minimum) || value > static_cast<double>(maximum)) {
      fail(node, key, allowed + ", got " + scalar_text(node));
    }
    return static_cast<std::int64_t>(value);
  }

  double positive(const YAML::Node& node, const std::string& key) const {
    const double value = number(node, key);
    if (!std::isfinite(value) || value <= 0) {
      fail(node, key, "must be a number > 0, got " + scalar_text(node));
    }
    return value;
  }

  std::string string(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar() || node.Scalar().empty()) {
      fail(node, key, "must be a non-empty string, got " + scalar_text(node));
    }
    return node.Scalar();
  }

  std::uint64_t seed(const YAML::Node& node, const std::string& key) const {
    const auto value = parse_seed(node.IsScalar() ? node.Scalar() : "");
    if (!value)
      fail(node, key, "must be " + std::string(kSeedAllowed) + ", got " + scalar_text(node));
    return *value;
  }

  ExecutionOptions execution(const YAML::Node& node) const {
    ExecutionOptions options;
    require_map(node, "execution");
    check_keys(node, "execution", kExecutionKeys);
    if (const auto chunk = node["chunk_size"]) {
      if (!(chunk.IsScalar() && chunk.Scalar() == "auto")) {
        options.chunk_size = integer(chunk, "execution.chunk_size", 1, 1'000'000);
      }
    }
    if (const auto retries = node["max_retries"]) {
      options.max_retries =
          static_cast<int>(integer(retries, "execution.max_retries", 0, kMaxRetries));
    }
    if (const auto limit = node["task_time_limit_s"]) {
      options.task_time_limit_s = positive(limit, "execution.task_time_limit_s");
    }
    if (const auto interval = node["checkpoint_interval_s"]) {
      options.checkpoint_interval_s = positive(interval, "execution.checkpoint_interval_s");
    }
    if (const auto isolation = node["isolation"]) {
      const std::string value = isolation.IsScalar() ? isolation.Scalar() : "";
      if (value != "process" && value != "none") {
        fail(isolation, "execution.isolation",
             "must be 'process' (crash- and hang-proof) or 'none', got " + scalar_text(isolation));
      }
      options.isolate_tasks = value == "process";
    }
    if (const auto save = node["save_clusters"]) {
      const std::string value = save.IsScalar() ? save.Scalar() : "";
      if (value == "none") {
        options.save_clusters = SaveClusters::None;
      } else if (value == "first") {
        options.save_clusters = SaveClusters::First;
      } else if (value == "all") {
        options.save_clusters = SaveClusters::All;
      } else {
        fail(save, "execution.save_clusters",
             "must be 'none', 'first' (one cluster per parameter point) or 'all', got " +
                 scalar_text(save));
      }
    }
    return options;
  }

  /// Resolves a parameter key for `algorithm`, with a helpful message when it is wrong.
  Parameter parameter(const YAML::Node& key_node, const std::string& key, Algorithm algorithm,
                      const std::string& path) const {
    const auto parameter = parameter_from_name(key);
    if (!parameter) {
      std::vector<std::string> names;
      for (Parameter p : parameters_of(algorithm))
        names.emplace_back(name_of(p));
      const std::string near = nearest_key(key, names);
      fail(key_node, path,
           "unknown parameter" + (near.empty() ? " (" + std::string(name_of(algorithm)) +
                                                     " takes: " + join(names) + ")"
                                               : "; did you mean '" + near + "'?"));
    }
    if (!kernels::uses_parameter(algorithm, *parameter)) {
      std::vector<std::string> names;
      for (Parameter p : parameters_of(algorithm))
        names.emplace_back(name_of(p));
      fail(key_node, path,
           "is not a parameter of " + std::string(name_of(algorithm)) +
               " (it takes: " + join(names) + ")");
    }
    return *parameter;
  }

  double parameter_value(const YAML::Node& node, Parameter parameter,
                         const std::string& path) const {
    const double value = number(node, path);
    if (auto broken = check_parameter(parameter, value)) {
      fail(node, path, *broken + ", got " + scalar_text(node));
    }
    return value;
  }

  /// The values of a list such as `values: [100, 200]`, each checked, no duplicates.
  std::vector<double> list_values(const YAML::Node& values, Parameter parameter,
                                  const std::string& path) const {
    if (!values.IsSequence()) fail(values, path, "must be a list of numbers");
    if (values.size() == 0) fail(values, path, "is empty; give at least one value");
    std::vector<double> result;
    std::set<double> seen;  // a list may hold a million values: no quadratic search
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::string item = path + "[" + std::to_string(i) + "]";
      const double value = parameter_value(values[i], parameter, item);
      if (!seen.insert(value).second) {
        fail(values[i], item, "duplicate value " + scalar_text(values[i]));
      }
      result.push_back(value);
    }
    return result;
  }

  /// The values of `range: {start, stop, step}`, stop included.
  std::vector<double> range_values(const YAML::Node& range, Parameter parameter,
                                   const std::string& path) const {
    require_map(range, path);
    check_keys(range, path, kRangeKeys);
    for (const auto& key : kRangeKeys) {
      if (!range[key]) fail(range, path, "needs '" + key + "' (start, stop, step)");
    }
    const double start = number(range["start"], path + ".start");
    const double stop = number(range["stop"], path + ".stop");
    const double step = number(range["step"], path + ".step");
    if (!std::isfinite(step) || step == 0 || (stop - start) * step < 0) {
      fail(range["step"], path + ".step",
           "must be a non-zero number that leads from start to stop");
    }
    const double count = std::floor((stop - start) / step + 1e-9) + 1;
    if (count > static_cast<double>(kMaxTasksPerFile)) {
      fail(range, path, "gives too many values (at most " + std::to_string(kMaxTasksPerFile) + ")");
    }
    if (rule_of(parameter).integer) {
      // Rounded, a step of 0.5 gave every value twice, with the same seed each time.
      for (const auto& [key, value] : {std::pair{"start", start}, std::pair{"step", step}}) {
        if (value != std::round(value)) {
          fail(range[key], path + "." + key,
               "must be a whole number, as " + std::string(name_of(parameter)) +
                   " takes integers, got " + format(value));
        }
      }
    }
    std::vector<double> result;
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(count); ++i) {
      // Computed from the index, not by accumulation, so 0.1 steps do not drift.
      double value = start + static_cast<double>(i) * step;
      // A last value that rounding carried just past stop, and so out of the parameter's
      // range (0.09 + 13 x 0.07 = 1.0000000000000002 for a sticking probability), is stop:
      // the range was refused with "value 1 must be ... <= 1". Values that were accepted
      // stay as they were (a file to continue holds them).
      if (check_parameter(parameter, value) && std::abs(value - stop) <= 1e-9 * std::abs(step)) {
        value = stop;
      }
      if (auto broken = check_parameter(parameter, value)) {
        fail(range, path, "value " + format(value) + " " + *broken);
      }
      result.push_back(value);
    }
    return result;
  }

  StudySpec study(const YAML::Node& node, std::size_t index) const {
    const std::string prefix = "studies[" + std::to_string(index) + "]";
    require_map(node, prefix);
    check_keys(node, prefix, kStudyKeys);
    StudySpec spec;
    spec.line = line_of(node);
    if (!node["name"]) fail(node, prefix, "needs a 'name'");
    spec.name = string(node["name"], prefix + ".name");
    if (!is_valid_study_name(spec.name)) {
      fail(node["name"], prefix + ".name",
           std::string("must match ") + kStudyNamePattern + ", got " + scalar_text(node["name"]));
    }
    spec.algorithm = algorithm(node, prefix);
    spec.base = base_parameters(node["base_parameters"], spec.algorithm, prefix);
    if (const auto repetitions = node["repetitions"]) {
      spec.repetitions =
          static_cast<int>(integer(repetitions, prefix + ".repetitions", 1, kMaxRepetitions));
    }
    expand_points(node, spec, prefix);
    return spec;
  }

  Algorithm algorithm(const YAML::Node& node, const std::string& prefix) const {
    const std::string names = kernels::model_names(" | ");
    if (!node["algorithm"]) fail(node, prefix, "needs an 'algorithm' (" + names + ")");
    const std::string text = string(node["algorithm"], prefix + ".algorithm");
    const auto algorithm = kernels::algorithm_from_name(text);
    if (!algorithm) {
      fail(node["algorithm"], prefix + ".algorithm",
           "unknown algorithm '" + text + "' (allowed: " + names + ")");
    }
    return *algorithm;
  }

  SimulationParameters base_parameters(const YAML::Node& node, Algorithm algorithm,
                                       const std::string& prefix) const {
    SimulationParameters base;
    if (!node) return base;
    const std::string path = prefix + ".base_parameters";
    if (node.IsNull()) return base;
    require_map(node, path);
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const std::string key = key_name(entry.first, path);
      const std::string item = path + "." + key;
      if (!seen.insert(key).second) fail(entry.first, item, "key given twice");
      const Parameter p = parameter(entry.first, key, algorithm, item);
      kernels::set_parameter(base, p, parameter_value(entry.second, p, item));
    }
    return base;
  }

  void expand_points(const YAML::Node& node, StudySpec& spec, const std::string& prefix) const {
    const auto variable = node["variable_parameter"];
    const auto values = node["values"];
    const auto range = node["range"];
    const auto grid = node["grid"];
    if (grid && (variable || values || range)) {
      fail(grid, prefix + ".grid",
           "use either 'grid' or 'variable_parameter' with 'values'/'range', not both");
    }
    if ((values || range) && !variable) {
      fail(values ? values : range, prefix + (values ? ".values" : ".range"),
           "needs 'variable_parameter' to say which parameter takes these values");
    }
    if (values && range) fail(range, prefix + ".range", "use either 'values' or 'range', not both");
    std::vector<std::pair<Parameter, std::vector<double>>> axes;
    if (variable) {
      const std::string path = prefix + ".variable_parameter";
      const Parameter p = parameter(variable, string(variable, path), spec.algorithm, path);
      if (!values && !range) fail(variable, path, "needs 'values' (a list) or 'range'");
      check_not_fixed(node, p, variable, path);
      axes.emplace_back(p, values ? list_values(values, p, prefix + ".values")
                                  : range_values(range, p, prefix + ".range"));
    }
    if (grid) axes = grid_axes(node, grid, spec.algorithm, prefix + ".grid");
    std::int64_t count = 1;
    for (const auto& [p, axis_values] : axes) {
      spec.varied.push_back(p);
      count *= static_cast<std::int64_t>(axis_values.size());
      if (count * spec.repetitions > kMaxTasksPerFile) {
        fail(node, prefix, "expands into more than " + std::to_string(kMaxTasksPerFile) + " tasks");
      }
    }
    spec.points = cartesian_product(spec.base, axes);
  }

  std::vector<std::pair<Parameter, std::vector<double>>> grid_axes(const YAML::Node& study,
                                                                   const YAML::Node& grid,
                                                                   Algorithm algorithm,
                                                                   const std::string& path) const {
    require_map(grid, path);
    if (grid.size() == 0) fail(grid, path, "is empty; give at least one parameter with values");
    std::vector<std::pair<Parameter, std::vector<double>>> axes;
    std::set<std::string> seen;
    for (const auto& entry : grid) {
      const std::string key = key_name(entry.first, path);
      const std::string item = path + "." + key;
      if (!seen.insert(key).second) fail(entry.first, item, "key given twice");
      const Parameter p = parameter(entry.first, key, algorithm, item);
      check_not_fixed(study, p, entry.first, item);
      if (entry.second.IsMap()) {
        axes.emplace_back(p, range_values(entry.second, p, item));
        continue;
      }
      if (!entry.second.IsSequence()) {
        fail(entry.second, item, "must be a list of values or {start, stop, step}");
      }
      axes.emplace_back(p, list_values(entry.second, p, item));
    }
    return axes;
  }

  void check_not_fixed(const YAML::Node& study, Parameter p, const YAML::Node& where,
                       const std::string& path) const {
    const auto base = study["base_parameters"];
    if (base && base.IsMap() && base[std::string(name_of(p))]) {
      fail(where, path,
           std::string(name_of(p)) +
               " is also in base_parameters; a parameter is either fixed "
               "or varied");
    }
  }

  static std::vector<SimulationParameters> cartesian_product(
      const SimulationParameters& base,
      const std::vector<std::pair<Parameter, std::vector<double>>>& axes) {
    std::vector<SimulationParameters> points{base};
    for (const auto& [p, values] : axes) {  // the last axis varies fastest
      std::vector<SimulationParameters> next;
      next.reserve(points.size() * values.size());
      for (const auto& point : points) {
        for (double value : values) {
          next.push_back(point);
          kernels::set_parameter(next.back(), p, value);
        }
      }
      points = std::move(next);
    }
    return points;
  }

  StudyFile file(const YAML::Node& root) const {
    StudyFile result;
    if (!root.IsMap()) fail(root, "", "a study file must be a mapping with a 'studies' list");
    check_keys(root, "", kTopKeys);
    if (const auto output = root["output"]) result.output = string(output, "output");
    if (const auto seed_node = root["seed"]) result.seed = seed(seed_node, "seed");
    if (const auto execution_node = root["execution"]) result.execution = execution(execution_node);
    const auto studies = root["studies"];
    if (!studies) fail(root, "studies", "missing; list at least one study");
    if (!studies.IsSequence() || studies.size() == 0) {
      fail(studies, "studies", "must be a non-empty list of studies");
    }
    std::map<std::string, int> first_line;
    std::int64_t total = 0;
    for (std::size_t i = 0; i < studies.size(); ++i) {
      StudySpec spec = study(studies[i], i);
      if (auto [it, fresh] = first_line.emplace(spec.name, spec.line); !fresh) {
        fail(studies[i]["name"], "studies[" + std::to_string(i) + "].name",
             "duplicate study name '" + spec.name + "' (first used on line " +
                 std::to_string(it->second) + ")");
      }
      total += spec.task_count();
      if (total > kMaxTasksPerFile) {
        fail(studies[i], "studies", "more than " + std::to_string(kMaxTasksPerFile) + " tasks");
      }
      result.studies.push_back(std::move(spec));
    }
    return result;
  }

  static std::string join(const std::vector<std::string>& items, const std::string& sep = ", ") {
    std::string text;
    for (const auto& item : items)
      text += (text.empty() ? "" : sep) + item;
    return text;
  }

  static std::string format(double value) {
    std::ostringstream out;
    out << value;
    return out.str();
  }

 private:
  std::string path_;
};

}  // namespace

std::string nearest_key(const std::string& key, const std::vector<std::string>& known) {
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& candidate : known) {
    // Levenshtein distance, one row at a time.
    std::vector<std::size_t> row(candidate.size() + 1);
    for (std::size_t j = 0; j <= candidate.size(); ++j)
      row[j] = j;
    for (std::size_t i = 1; i <= key.size(); ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= candidate.size(); ++j) {
        const std::size_t above = row[j];
        const std::size_t cost = key[i - 1] == candidate[j - 1] ? 0 : 1;
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
        diagonal = above;
      }
    }
    if (row.back() < best_distance) {
      best_distance = row.back();
      best = candidate;
    }
  }
  // Close means: at most a third of the longer word changed (typos, not other words).
  const std::size_t limit = std::max<std::size_t>(2, std::max(key.size(), best.size()) / 3);
  return best_distance <= limit ? best : "";
}

StudyFile parse_study_text(const std::string& text, const std::string& path) {
  YAML::Node root;
  try {
    // Every document is read: YAML::Load stopped after the first, so a second one (after
    // `---`), its studies and even its syntax errors were passed over without a word.
    const std::vector<YAML::Node> documents = YAML::LoadAll(text);
    const auto second =
        std::find_if(documents.begin() + (documents.empty() ? 0 : 1), documents.end(),
                     [](const YAML::Node& n) { return !n.IsNull(); });
    if (second != documents.end()) {  // an empty one (a `---` at the end) holds nothing
      const int line = second->Mark().line;
      throw StudyFileError(path, line >= 0 ? line + 1 : 0, "",
                           "a study file holds one YAML document; a second one starts here "
                           "(put every study in the first one's 'studies' list)");
    }
    if (!documents.empty()) root = documents.front();
  } catch (const YAML::ParserException& error) {
    throw StudyFileError(path, error.mark.line + 1, "", "YAML syntax error: " + error.msg);
  }
  Validator validator(path);
  StudyFile result;
  try {
    result = validator.file(root);
  } catch (const YAML::Exception& error) {  // e.g. a non-scalar used as a key
    throw StudyFileError(path, error.mark.line + 1, "", "invalid study file: " + error.msg);
  }
  result.path = path;
  result.text = text;
  return result;
}

namespace {

/// The study file's bytes. Only a regular file is read, opened without blocking and read
/// to at most kMaxStudyFileBytes: a FIFO, /dev/zero or a runaway file would otherwise
/// hang validate or fill the memory before a single key is checked.
std::string read_study_text(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    throw InputError(path + ": cannot read the study file (" +
                     (error == ENOENT ? std::string("no such file") : std::strerror(error)) + ")");
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0 || S_ISDIR(info.st_mode)) {
    throw InputError(path + ": is a folder; give a YAML study file");
  }
  if (!S_ISREG(info.st_mode)) {
    throw InputError(path +
                     ": is not a regular file (a device, pipe or socket); give a YAML "
                     "study file");
  }
  std::string text;
  char block[65536];
  for (;;) {
    const ssize_t got = ::read(fd, block, sizeof block);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      throw InputError(path + ": cannot read the study file (" + std::strerror(errno) + ")");
    if (got == 0) return text;
    text.append(block, static_cast<std::size_t>(got));
    if (text.size() > kMaxStudyFileBytes) {
      throw InputError(path + ": is larger than " + std::to_string(kMaxStudyFileBytes >> 20) +
                       " MiB; a study file may be at most that (long sweeps fit in 'range')");
    }
  }
}

}  // namespace

StudyFile load_study_file(const std::string& path) {
  return parse_study_text(read_study_text(path), path);
}

bool is_valid_study_name(const std::string& name) {
  static const std::regex kPattern(kStudyNamePattern);
  return std::regex_match(name, kPattern);
}

std::int64_t StudyFile::task_count() const {
  std::int64_t total = 0;
  for (const auto& study : studies)
    total += study.task_count();
  return total;
}

}  // namespace fracstudy::study
