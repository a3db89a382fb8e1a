#pragma once
// The definitions of the tools, one function each (private to the tools layer): each
// returns the tool's title, description, inputSchema, outputSchema and annotations under
// the operator's limits. The registry in ToolServer::tools() pairs each with its name and
// handler.
#include <nlohmann/json.hpp>

#include "fracstudy/tools/tools.hpp"

namespace fracstudy::tools::definitions {

nlohmann::json run_parametric_study(const ToolLimits& limits);
nlohmann::json check_study_status(const ToolLimits& limits);
nlohmann::json wait_for_study(const ToolLimits& limits);
nlohmann::json retry_failed_simulations(const ToolLimits& limits);
nlohmann::json list_studies(const ToolLimits& limits);
nlohmann::json get_study_results(const ToolLimits& limits);
nlohmann::json cancel_study(const ToolLimits& limits);
nlohmann::json run_simulation(const ToolLimits& limits);

}  // namespace fracstudy::tools::definitions
