#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "domain/list_query.hpp"
#include "http/message.hpp"

namespace assistantd::api {

// The request body as a JSON object (strict parsing: no duplicates, bounded depth).
Result<nlohmann::json> ParseObjectBody(const http::Request& request);

// A path id that must be a UUID; returns its canonical form.
Result<std::string> ParseIdParam(std::string_view value, std::string_view what);

// Query parameters as a map, refusing duplicates and names outside `allowed`.
Result<std::vector<std::pair<std::string, std::string>>> ParseQueryParams(
    const http::Request& request, const std::vector<std::string_view>& allowed);

// `limit`: an integer in 1..max.
Result<int> ParseLimit(std::string_view value, int max);

// `cursor`: an opaque cursor from a previous page.
Result<domain::ListCursor> ParseCursor(std::string_view value);

// A list answer: {"data": [...], "nextCursor": "..." | null}.
http::Response PageResponse(nlohmann::json data, const std::optional<domain::ListCursor>& next);

// Validation error with details.
tl::unexpected<Error> ValidationFailed(nlohmann::json details);

}  // namespace assistantd::api
