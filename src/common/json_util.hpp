#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace assistantd {

inline constexpr int kMaxJsonDepth = 32;

// Parses untrusted JSON: rejects syntax errors, invalid UTF-8, duplicate object keys (at any
// level) and nesting deeper than max_depth, with an error of reason "invalid_json".
Result<nlohmann::json> ParseJsonStrict(std::string_view text, int max_depth = kMaxJsonDepth);

// A member of a JSON object from outside (Vapi's answers, files we read back): its value if
// `object` is an object whose `key` is a string (a boolean), else `fallback`. Never throws:
// nlohmann's value() throws type_error when the member is there with another type.
std::string StringOr(const nlohmann::json& object, std::string_view key, std::string fallback = {});
bool BoolOr(const nlohmann::json& object, std::string_view key, bool fallback);

// Number of Unicode code points in a valid UTF-8 string.
size_t Utf8Length(std::string_view text);

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code points
// past U+10FFFF) with no control characters (U+0000-U+001F, U+007F).
bool IsPrintableUtf8(std::string_view text);

}  // namespace assistantd
