#include "http/error_mapping.hpp"

namespace assistantd::http {

int HttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kForbidden: return 403;
    case ErrorCode::kQuotaExceeded: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kMethodNotAllowed: return 405;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kPreconditionFailed: return 412;
    case ErrorCode::kPayloadTooLarge: return 413;
    case ErrorCode::kUnsupportedMediaType: return 415;
    case ErrorCode::kRateLimited: return 429;
    case ErrorCode::kInternal: return 500;
    case ErrorCode::kUpstreamFailed: return 502;
    case ErrorCode::kUnavailable: return 503;
  }
  return 500;
}

Response ErrorResponse(const Error& error, std::string_view request_id) {
  nlohmann::json body = {{"error",
                          {{"code", error.reason.empty() ? "internal_error" : error.reason},
                           {"message", error.message},
                           {"details", error.details.is_array() ? error.details
                                                                : nlohmann::json::array()},
                           {"requestId", request_id}}}};
  Response r = Response::Json(HttpStatus(error.code), body);
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
