#pragma once
// The definitions of the tools, one function each (private to the tools layer): each
// returns the tool's description, inputSchema and outputSchema. The registry in
// ToolServer::tools() pairs each with its name and handler.
#include <nlohmann/json.hpp>

namespace fracstudy::tools::definitions {

nlohmann::json run_parametric_study();
nlohmann::json check_study_status();
nlohmann::json retry_failed_simulations();
nlohmann::json list_studies();
nlohmann::json get_study_results();
nlohmann::json cancel_study();

}  // namespace fracstudy::tools::definitions
