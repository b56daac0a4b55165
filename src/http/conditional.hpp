#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace assistantd::http {

// Entity tags and conditional requests (RFC 9110 §8.8.3, §13).

// A strong entity tag for these representation bytes: "<22 base64url characters>", a digest
// of the bytes, so it changes whenever they do and never otherwise.
std::string StrongEtag(std::string_view representation);
// The same digest as a weak tag: W/"…" (semantically equivalent, not byte-for-byte promised).
std::string WeakEtag(std::string_view representation);

// If-None-Match (`header`) against the current tag by weak comparison (§8.8.3.2): true when
// one listed tag matches or the header is "*" (a current representation exists). A member
// that is not an entity tag matches nothing.
bool NoneMatchHits(std::string_view header, std::string_view current);
// If-Match against the current tag by strong comparison: true when a listed strong tag equals
// it or the header is "*"; weak tags never match.
bool MatchHolds(std::string_view header, std::string_view current);

// Every field line of a header, joined with ", " (a list-valued field may arrive split over
// several lines, RFC 9110 §5.3), or nullopt when there is none.
std::optional<std::string> CombinedHeader(const Request& request, std::string_view lower_name);

// The 304 for a response whose validator the client already holds: no body, the response's
// header fields but its content ones (Content-Type, Content-Length).
Response NotModified(const Response& full);

// The 304 answer to a GET whose If-None-Match names `response`'s ETag, or nullopt to send
// `response` itself: only a 200 with an ETag can be revalidated.
std::optional<Response> RevalidateGet(const Request& request, const Response& response);

}  // namespace assistantd::http
