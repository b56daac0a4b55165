#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace assistantd {

inline constexpr int kMaxJsonDepth = 32;

// Parses untrusted JSON: rejects syntax errors, invalid UTF-8, duplicate object keys (at any
// level) and nesting deeper than max_depth, with an error of reason "invalid_json".
Result<nlohmann::json> ParseJsonStrict(std::string_view text, int max_depth = kMaxJsonDepth);

// Number of Unicode code points in a valid UTF-8 string.
size_t Utf8Length(std::string_view text);

}  // namespace assistantd
