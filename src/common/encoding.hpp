#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace assistantd {

// Byte encodings and randomness, all from libsodium (constant-time codecs, a CSPRNG).

// Unpadded base64url (RFC 4648 §5), as JWTs use it.
std::string Base64UrlEncode(std::string_view bytes);

// Strict decoding: no padding, no characters outside the alphabet, no whitespace, and unused
// trailing bits must be zero (so every value has exactly one encoding).
std::optional<std::string> Base64UrlDecode(std::string_view text);

// Lower-case hexadecimal.
std::string HexEncode(std::string_view bytes);

// A 16-byte BLAKE2b digest (libsodium's crypto_generichash): fast, for telling contents apart
// (entity tags), not for secrets.
std::string ShortDigest(std::string_view bytes);

// `n` bytes from the operating system's CSPRNG (through libsodium's randombytes_buf).
std::string RandomBytes(size_t n);

}  // namespace assistantd
