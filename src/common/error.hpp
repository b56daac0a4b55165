#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

namespace assistantd {

// What went wrong, independent of transport. Exactly one place (http/error_mapping) turns it
// into an HTTP status and the JSON error body.
enum class ErrorCode {
  kInvalidInput,
  kUnauthenticated,
  kForbidden,
  kNotFound,
  kMethodNotAllowed,
  kConflict,
  kPreconditionFailed,
  kPreconditionRequired,
  kPayloadTooLarge,
  kHeadersTooLarge,
  kUnsupportedMediaType,
  kUnprocessable,
  kQuotaExceeded,
  kRateLimited,
  kUpstreamFailed,
  kUnavailable,
  kNotImplemented,
  kInternal,
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string reason;   // stable machine-readable code on the wire, e.g. "validation_failed"
  std::string message;  // safe to show to a client
  nlohmann::json details = nlohmann::json::array();
  std::string internal;  // for logs only; never sent to a client
  // Extra response headers the error needs (Retry-After and RateLimit on a 429).
  std::vector<std::pair<std::string, std::string>> headers = {};
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> Fail(ErrorCode code, std::string reason, std::string message,
                                  nlohmann::json details = nlohmann::json::array(),
                                  std::string internal = {}) {
  return tl::unexpected<Error>(
      Error{code, std::move(reason), std::move(message), std::move(details), std::move(internal)});
}

// A step that would have to wait (for the database, Redis, a key fetch) was asked not to:
// the request's thread must not block, so the work moves to one that may.
inline constexpr std::string_view kWouldBlock = "would_block";
inline tl::unexpected<Error> WouldBlock() {
  return tl::unexpected<Error>(Error{ErrorCode::kUnavailable,
                                     std::string(kWouldBlock),
                                     "The request needs a thread that may wait",
                                     nlohmann::json::array(),
                                     {}});
}
inline bool IsWouldBlock(const Error& e) { return e.reason == kWouldBlock; }

inline tl::unexpected<Error> Internal(std::string internal) {
  return Fail(ErrorCode::kInternal, "internal_error", "Internal server error",
              nlohmann::json::array(), std::move(internal));
}

}  // namespace assistantd
