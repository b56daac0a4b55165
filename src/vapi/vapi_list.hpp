#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <tl/expected.hpp>

#include "vapi/vapi_client.hpp"

namespace assistantd::vapi {

// Pages through GET /assistant from the newest down (Vapi's list has no cursor: each next
// page asks for createdAt <= the oldest seen so far), calling `visit` once per distinct
// assistant. True when the whole range was seen; false when `max_pages` ran out or more
// assistants than one page holds share a single createdAt (paging cannot move past them).
tl::expected<bool, VapiFailure> ForEachRemoteAssistant(
    VapiClient& client, const std::string& api_key, ListParams params, int max_pages,
    const std::function<void(const nlohmann::json&)>& visit);

}  // namespace assistantd::vapi
