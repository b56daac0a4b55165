#pragma once

#include <string>

#include "domain/assistant.hpp"
#include "http/message.hpp"
#include "storage/storage.hpp"

namespace assistantd::api {

// Conditional writes to one assistant (RFC 9110 §13.1.1).

// The strong ETag of an assistant: a digest of its full representation as GET answers it, so
// it changes with anything in that representation (sync fields included) and never otherwise.
std::string AssistantEtag(const domain::Assistant& assistant);

// The request's If-Match as a check of the current row, run inside the write's transaction:
// 412 "precondition_failed", carrying the current ETag, when no listed tag matches it. Empty
// when the request has no If-Match; 428 "precondition_required" then if `required`
// (--require-if-match). A missing row is never checked: the write answers 404 first.
Result<storage::Precondition> IfMatchPrecondition(const http::Request& request, bool required);

}  // namespace assistantd::api
