#pragma once

#include <string_view>

#include "common/error.hpp"
#include "http/message.hpp"

namespace assistantd::http {

// The one mapping from ErrorCode to HTTP status.
int HttpStatus(ErrorCode code);

// Who reads the error: our API clients, or Supabase Auth clients (/auth/v1), which also need
// GoTrue's fields.
enum class ErrorStyle { kDefault, kGoTrue };

// The one error body: {"error": {"code", "message", "details", "requestId"}}, with the
// headers an error of that kind needs (WWW-Authenticate, Retry-After, the error's own). Never
// includes Error::internal. In the GoTrue style the body also carries GoTrue's fields — the
// API-version-2024 pair ("code" = the reason, "message") and the legacy pair ("error_code",
// "msg"), plus "weak_password" — and the response the X-Supabase-Api-Version and
// x-sb-error-code headers, so @supabase/supabase-js reads the code whatever its version.
Response ErrorResponse(const Error& error, std::string_view request_id,
                       ErrorStyle style = ErrorStyle::kDefault);

// Supabase Auth's API version, sent on every /auth/v1 response.
inline constexpr const char* kSupabaseApiVersion = "2024-01-01";

}  // namespace assistantd::http
