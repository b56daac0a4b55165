#pragma once

#include <string_view>

#include "common/error.hpp"
#include "http/message.hpp"

namespace assistantd::http {

// The one mapping from ErrorCode to HTTP status.
int HttpStatus(ErrorCode code);

// The one error body: {"error": {"code", "message", "details", "requestId"}}, with the
// headers an error of that kind needs (WWW-Authenticate, Retry-After). Never includes
// Error::internal.
Response ErrorResponse(const Error& error, std::string_view request_id);

}  // namespace assistantd::http
