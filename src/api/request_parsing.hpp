#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "domain/list_query.hpp"
#include "http/message.hpp"

namespace assistantd::api {

// The request body as a JSON object (strict parsing: no duplicates, bounded depth).
Result<nlohmann::json> ParseObjectBody(const http::Request& request);

// RFC 7240 `Prefer: wait=N` in seconds, capped at kMaxPreferWaitSeconds; nullopt when absent,
// zero or malformed (preferences a server does not understand are ignored, per the RFC).
inline constexpr int kMaxPreferWaitSeconds = 10;
std::optional<int> PreferredWaitSeconds(const http::Request& request);

// The credential of `Authorization: Bearer <credential>` (scheme case-insensitive, spaces
// after it skipped; it may be empty): nullopt when there is no Authorization header;
// kUnauthenticated missing_token when the header uses another scheme.
Result<std::optional<std::string_view>> BearerCredential(const http::Request& request);

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
// The same page from items already serialized (each a JSON value), so none is rendered twice.
http::Response PageResponse(const std::vector<std::string>& items,
                            const std::optional<domain::ListCursor>& next);

// Body fields that carry a per-request Vapi key (never stored in the assistant).
inline constexpr std::string_view kVapiKeyFields[] = {"vapiApiKey", "vapi_api_key"};

// The per-request Vapi key: the X-Vapi-API-Key header, else a vapiApiKey / vapi_api_key body
// member (removed from `body`). nullopt when none; an invalid key is a validation error.
Result<std::optional<std::string>> TakeRequestVapiKey(const http::Request& request,
                                                      nlohmann::json* body);

// Checks a Vapi API key's shape: 8-256 printable ASCII characters without spaces.
bool IsPlausibleVapiKey(std::string_view key);

// Validation error with details.
tl::unexpected<Error> ValidationFailed(nlohmann::json details);

// One entry of an error's details: {"field", "message"}.
inline nlohmann::json Violation(std::string field, std::string message) {
  return {{"field", std::move(field)}, {"message", std::move(message)}};
}

// 400 validation_failed naming every member of `body` outside `allowed`.
Result<void> RefuseUnknownMembers(const nlohmann::json& body,
                                  std::initializer_list<std::string_view> allowed);

}  // namespace assistantd::api
