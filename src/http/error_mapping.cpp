#include "http/error_mapping.hpp"

namespace assistantd::http {

int HttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kQuotaExceeded:
      return 403;
    case ErrorCode::kUnprocessable:
      return 422;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kPreconditionFailed:
      return 412;
    case ErrorCode::kPreconditionRequired:
      return 428;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kHeadersTooLarge:
      return 431;
    case ErrorCode::kUnsupportedMediaType:
      return 415;
    case ErrorCode::kRateLimited:
      return 429;
    case ErrorCode::kInternal:
      return 500;
    case ErrorCode::kNotImplemented:
      return 501;
    case ErrorCode::kUpstreamFailed:
      return 502;
    case ErrorCode::kUnavailable:
      return 503;
  }
  return 500;
}

namespace {

constexpr size_t kMaxDetails = 20;
constexpr size_t kMaxDetailText = 200;  // bytes of a detail's field or message

// An error's details as sent: at most kMaxDetails, each text cut to kMaxDetailText bytes, so
// a small request (3,000 unknown names in `fields`) cannot make a large answer.
nlohmann::json BoundedDetails(const nlohmann::json& details) {
  nlohmann::json out = nlohmann::json::array();
  if (!details.is_array()) return out;
  for (const auto& d : details) {
    if (out.size() == kMaxDetails) {
      out.push_back({{"field", ""},
                     {"message", std::to_string(details.size() - kMaxDetails) +
                                     " more problems are not listed"}});
      break;
    }
    nlohmann::json item = d;
    if (item.is_object()) {
      for (auto& [key, value] : item.items()) {
        if (value.is_string() && value.get_ref<const std::string&>().size() > kMaxDetailText) {
          // A cut inside a UTF-8 sequence is replaced when the body is written.
          value = value.get_ref<const std::string&>().substr(0, kMaxDetailText) + "...";
        }
      }
    }
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace

Response ErrorResponse(const Error& error, std::string_view request_id, ErrorStyle style) {
  const std::string code = error.reason.empty() ? "internal_error" : error.reason;
  nlohmann::json body = {{"error",
                          {{"code", code},
                           {"message", error.message},
                           {"details", BoundedDetails(error.details)},
                           {"requestId", request_id}}}};
  if (style == ErrorStyle::kGoTrue) {
    body["code"] = code;
    body["message"] = error.message;
    body["error_code"] = code;
    body["msg"] = error.message;
    if (code == "weak_password" && error.details.is_array() && !error.details.empty()) {
      body["weak_password"] = error.details.front();
    }
  }
  Response r = Response::Json(HttpStatus(error.code), body);
  if (style == ErrorStyle::kGoTrue) {
    r.SetHeader("X-Supabase-Api-Version", kSupabaseApiVersion);
    r.SetHeader("x-sb-error-code", code);
  }
  for (const auto& [name, value] : error.headers) r.SetHeader(name, value);
  if (error.code == ErrorCode::kUnauthenticated) {
    // RFC 6750 §3.1: no error code when the request carried no credentials at all.
    r.SetHeader("WWW-Authenticate", error.reason == "missing_token"
                                        ? std::string("Bearer realm=\"assistantd\"")
                                        : "Bearer realm=\"assistantd\", error=\"invalid_token\"");
  }
  if (error.code == ErrorCode::kUnavailable) r.SetHeader("Retry-After", "1");
  return r;
}

}  // namespace assistantd::http
