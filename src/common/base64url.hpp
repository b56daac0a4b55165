#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace assistantd {

// Unpadded base64url (RFC 4648 §5), as JWTs use it.
std::string Base64UrlEncode(std::string_view bytes);

// Strict decoding: no padding, no characters outside the alphabet, no whitespace, and unused
// trailing bits must be zero (so every value has exactly one encoding).
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace assistantd
