#include "api/request_parsing.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/ascii.hpp"
#include "common/json_util.hpp"
#include "common/uuid.hpp"

namespace assistantd::api {

tl::unexpected<Error> ValidationFailed(nlohmann::json details) {
  return Fail(ErrorCode::kInvalidInput, "validation_failed", "The request has invalid fields",
              std::move(details));
}

http::Response PageResponse(nlohmann::json data, const std::optional<domain::ListCursor>& next) {
  return http::Response::Json(
      200, {{"data", std::move(data)},
            {"nextCursor",
             next ? nlohmann::json(domain::EncodeCursor(*next)) : nlohmann::json(nullptr)}});
}

http::Response PageResponse(const std::vector<std::string>& items,
                            const std::optional<domain::ListCursor>& next) {
  http::Response r =
      http::Response::Json(200, {{"nextCursor", next ? nlohmann::json(domain::EncodeCursor(*next))
                                                     : nlohmann::json(nullptr)}});
  // {"nextCursor":…} → {"data":[…],"nextCursor":…}, the members in the order Json gives them.
  size_t size = r.body.size() + 10;
  for (const auto& item : items) size += item.size() + 1;
  std::string body;
  body.reserve(size);
  body += "{\"data\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) body += ',';
    body += items[i];
  }
  body += "],";
  body.append(r.body, 1, std::string::npos);
  r.body = std::move(body);
  return r;
}

bool IsPlausibleVapiKey(std::string_view key) {
  bool ok = key.size() >= 8 && key.size() <= 256;
  for (const char c : key) ok = ok && c > 0x20 && c < 0x7f;
  return ok;
}

Result<std::optional<std::string>> TakeRequestVapiKey(const http::Request& request,
                                                      nlohmann::json* body) {
  std::optional<std::string> key;
  std::string field = "X-Vapi-API-Key";
  if (const auto header = request.Header("x-vapi-api-key")) key = std::string(*header);
  if (body) {
    for (const auto name : kVapiKeyFields) {
      const auto it = body->find(name);
      if (it == body->end()) continue;
      if (!key) {
        if (!it->is_string()) {
          return ValidationFailed(
              nlohmann::json::array({{{"field", name}, {"message", "must be a string"}}}));
        }
        key = it->get<std::string>();
        field = std::string(name);
      }
      body->erase(it);
    }
  }
  if (key && !IsPlausibleVapiKey(*key)) {
    return ValidationFailed(nlohmann::json::array(
        {{{"field", field},
          {"message", "must be 8-256 printable ASCII characters without spaces"}}}));
  }
  return key;
}

std::optional<int> PreferredWaitSeconds(const http::Request& request) {
  const auto header = request.Header("prefer");
  if (!header) return std::nullopt;
  const auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };
  std::string_view rest = *header;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    item = trim(item.substr(0, item.find(';')));  // parameters after ';' do not apply to wait
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = trim(item.substr(0, eq));
    std::string_view value = trim(item.substr(eq + 1));
    if (name.size() != 4 || !std::equal(name.begin(), name.end(), "wait", [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
      continue;
    }
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    int64_t seconds = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc::result_out_of_range && !value.empty() && value.front() != '-') {
      return kMaxPreferWaitSeconds;
    }
    if (ec != std::errc() || ptr != value.data() + value.size() || seconds <= 0) {
      return std::nullopt;
    }
    return static_cast<int>(std::min<int64_t>(seconds, kMaxPreferWaitSeconds));
  }
  return std::nullopt;
}

Result<nlohmann::json> ParseObjectBody(const http::Request& request) {
  auto body = ParseJsonStrict(request.body);
  if (!body) return body;
  if (!body->is_object()) {
    return Fail(ErrorCode::kInvalidInput, "invalid_json", "Body must be a JSON object");
  }
  return body;
}

Result<std::optional<std::string_view>> BearerCredential(const http::Request& request) {
  const auto header = request.Header("authorization");
  if (!header || header->empty()) return std::optional<std::string_view>();
  constexpr std::string_view kScheme = "bearer ";
  if (header->size() < kScheme.size() || AsciiLower(header->substr(0, kScheme.size())) != kScheme) {
    return Fail(ErrorCode::kUnauthenticated, "missing_token",
                "Authorization must use the Bearer scheme");
  }
  auto token = header->substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  return std::optional<std::string_view>(token);
}

Result<std::string> ParseIdParam(std::string_view value, std::string_view what) {
  auto id = NormalizeUuid(value);
  if (!id) {
    return Fail(ErrorCode::kInvalidInput, "invalid_id", std::string(what) + " id must be a UUID");
  }
  return *id;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseQueryParams(
    const http::Request& request, const std::vector<std::string_view>& allowed) {
  auto params = http::ParseQuery(request.query);
  if (!params) return params;
  // supabase-js adds forceFunctionRegion to functions.invoke(..., { region }); one instance
  // serves every region, so it is accepted and ignored (as is the x-region header).
  if (request.path.starts_with("/functions/v1/")) {
    std::erase_if(*params, [](const auto& p) { return p.first == "forceFunctionRegion"; });
  }
  nlohmann::json details = nlohmann::json::array();
  for (size_t i = 0; i < params->size(); ++i) {
    const auto& name = (*params)[i].first;
    bool known = false;
    for (const auto a : allowed) known = known || a == name;
    if (!known) {
      details.push_back({{"field", name}, {"message", "is not a supported query parameter"}});
      continue;
    }
    for (size_t j = 0; j < i; ++j) {
      if ((*params)[j].first == name) {
        details.push_back({{"field", name}, {"message", "is given more than once"}});
      }
    }
  }
  if (!details.empty()) {
    return Fail(ErrorCode::kInvalidInput, "invalid_query", "The query string is invalid",
                std::move(details));
  }
  return params;
}

Result<int> ParseLimit(std::string_view value, int max) {
  int limit = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
  if (ec != std::errc() || ptr != value.data() + value.size() || limit < 1 || limit > max) {
    return Fail(ErrorCode::kInvalidInput, "invalid_query", "The query string is invalid",
                nlohmann::json::array(
                    {{{"field", "limit"},
                      {"message", "must be an integer between 1 and " + std::to_string(max)}}}));
  }
  return limit;
}

Result<domain::ListCursor> ParseCursor(std::string_view value) {
  auto cursor = domain::DecodeCursor(value);
  if (!cursor) {
    return Fail(ErrorCode::kInvalidInput, "invalid_cursor",
                "cursor is not a value returned as nextCursor");
  }
  return *cursor;
}

Result<void> RefuseUnknownMembers(const nlohmann::json& body,
                                  std::initializer_list<std::string_view> allowed) {
  nlohmann::json details = nlohmann::json::array();
  for (const auto& [k, v] : body.items()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      details.push_back(Violation(k, "unknown field"));
    }
  }
  if (details.empty()) return {};
  std::string message = "Unknown field \"" + details.front()["field"].get<std::string>() + "\"";
  return Fail(ErrorCode::kInvalidInput, "validation_failed", std::move(message),
              std::move(details));
}

}  // namespace assistantd::api
