#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "commands.hpp"
#include "errors.hpp"
#include "fracstudy/io/cluster_file.hpp"
#include "fracstudy/kernels/metrics.hpp"
#include "fracstudy/kernels/models.hpp"
#include "fracstudy/study/errors.hpp"
#include "fracstudy/study/spec.hpp"
#include "fracstudy/tools/status.hpp"
#include "options.hpp"

namespace fracstudy::cli {
namespace {

/// The command-line flag of a parameter: n_particles -> n-particles.
std::string flag_of(kernels::Parameter parameter) {
  std::string flag(kernels::name_of(parameter));
  for (char& c : flag)
    c = c == '_' ? '-' : c;
  return flag;
}

/// A seed as given on the command line, read as the study file's is. (Boost parsed "-1" as
/// 2^64 - 1.)
std::uint64_t seed_from_text(const std::string& text) {
  const auto seed = study::parse_seed(text);
  if (!seed) {
    throw UsageError("--seed: must be " + std::string(study::kSeedAllowed) + ", got '" + text +
                     "'");
  }
  return *seed;
}

/// The simulation, stopped at its time limit with a line that says so (the kernel's own
/// word is "timeout", which run_simulation's caller looks for, so it leads).
kernels::SimulationResult simulate_within(kernels::Algorithm algorithm,
                                          const kernels::SimulationParameters& parameters,
                                          std::uint64_t seed, double time_limit_s) {
  try {
    return kernels::simulate(algorithm, parameters, seed, kernels::Deadline::after(time_limit_s));
  } catch (const kernels::DeadlineExceeded&) {
    std::ostringstream limit;
    limit << time_limit_s;
    throw std::runtime_error("timeout: stopped at --time-limit " + limit.str() +
                             " s, before the cluster had its " +
                             std::to_string(parameters.n_particles) + " particles");
  }
}

/// The models and what each is, for --help.
std::string algorithm_help() {
  std::string help = "the model: " + kernels::model_names(" | ");
  for (const auto& model : kernels::all_models()) {
    help += "\n  " + std::string(model.name) + ": " + std::string(model.description);
  }
  return help;
}

}  // namespace

int simulate_command(const CommandLine& line) {
  const auto& args = line.args;
  CommandSpec spec{
      "fracstudy simulate --algorithm ALG [--n-particles N] [--dimension D] "
      "[--seed S] [...]",
      "Runs one simulation and prints its metrics as one JSON object. Parameters\n"
      "the model does not use are an error. Lengths are in the unit of\n"
      "--particle-radius.",
      "  fracstudy simulate --algorithm DLA --n-particles 10000 --dimension 2 "
      "--seed 7"};
  spec.options.add_options()("algorithm", po::value<std::string>()->required(),
                             algorithm_help().c_str());
  for (kernels::Parameter p : kernels::all_parameters()) {
    const auto& rule = kernels::rule_of(p);
    spec.options.add_options()(
        flag_of(p).c_str(), po::value<double>(),
        (std::string(rule.description) + " (" + std::string(rule.allowed) + ")").c_str());
  }
  spec.options.add_options()("seed", po::value<std::string>()->default_value("0"),
                             ("random seed, " + std::string(study::kSeedAllowed)).c_str())(
      "time-limit", po::value<double>()->default_value(0),
      "stop after this many seconds (0: none)")(
      "save-cluster", po::value<std::string>(),
      "write the particle positions to this new HDF5 file (/positions, n x dimension)");
  const auto values = parse_command(args, spec);
  if (!values) return 0;
  const std::string name = (*values)["algorithm"].as<std::string>();
  const auto algorithm = kernels::algorithm_from_name(name);
  if (!algorithm) {
    throw UsageError("--algorithm: unknown algorithm '" + name +
                     "' (allowed: " + kernels::model_names(" | ") + ")");
  }
  kernels::SimulationParameters parameters;
  nlohmann::json used = nlohmann::json::object();
  for (kernels::Parameter p : kernels::all_parameters()) {
    const std::string flag = flag_of(p);
    if (values->count(flag)) {
      if (!kernels::uses_parameter(*algorithm, p)) {
        throw UsageError("--" + flag + ": " + name + " does not use " +
                         std::string(kernels::name_of(p)));
      }
      const double value = (*values)[flag].as<double>();
      if (auto broken = kernels::check_parameter(p, value)) {
        throw UsageError("--" + flag + ": " + *broken);
      }
      kernels::set_parameter(parameters, p, value);
    }
    if (kernels::uses_parameter(*algorithm, p)) {
      const double value = kernels::get_parameter(parameters, p);
      used[std::string(kernels::name_of(p))] =
          kernels::rule_of(p).integer ? nlohmann::json(std::llround(value)) : nlohmann::json(value);
    }
  }
  const auto seed = seed_from_text((*values)["seed"].as<std::string>());
  const std::string cluster_path =
      values->count("save-cluster") ? (*values)["save-cluster"].as<std::string>() : "";
  if (values->count("save-cluster")) {
    if (auto problem =
            io::cluster_path_problem(cluster_path, parameters.n_particles, parameters.dimension)) {
      throw UsageError("--save-cluster: " + *problem);
    }
  }
  const double time_limit_s = (*values)["time-limit"].as<double>();
  if (!(time_limit_s >= 0)) {  // NaN too
    std::ostringstream given;
    given << time_limit_s;
    throw UsageError("--time-limit: must be a number of seconds >= 0 (0: none), got '" +
                     given.str() + "'");
  }
  const auto start = std::chrono::steady_clock::now();
  const auto result = simulate_within(*algorithm, parameters, seed, time_limit_s);
  const double wall_time_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json out = {{"algorithm", name},
                        {"parameters", used},
                        {"seed", seed},
                        {"n_particles", result.n_particles}};
  for (const auto& metric : kernels::kMetrics) {
    out[std::string(metric.name)] =
        tools::metric_json(metric, kernels::metric_value(metric, result));
  }
  out["wall_time_s"] = wall_time_s;
  if (!cluster_path.empty()) {
    io::write_cluster_file(cluster_path, *algorithm, parameters, seed, result);
    out["cluster_file"] = cluster_path;
  }
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace fracstudy::cli
