#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace assistantd {

// "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC, millisecond precision), the wire format for timestamps.
std::string FormatTimestamp(int64_t micros_since_epoch);

// Parses RFC 3339 date-times ("2026-01-02T03:04:05Z", fractional seconds up to microseconds,
// "+hh:mm" offsets). Returns microseconds since the epoch, or nullopt if malformed.
std::optional<int64_t> ParseTimestamp(std::string_view text);

}  // namespace assistantd
