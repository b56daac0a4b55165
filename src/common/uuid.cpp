#include "common/uuid.hpp"

#include <sodium.h>

#include <chrono>
#include <cstdint>
#include <cstring>

#include "common/encoding.hpp"

namespace assistantd {

namespace {

// 16 bytes as a UUID of `version` (RFC 9562: version and variant bits set).
std::string Format(std::string b, uint8_t version) {
  b[6] = static_cast<char>((b[6] & 0x0f) | (version << 4));
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  std::string hex = HexEncode(b);
  for (const size_t dash : {8, 13, 18, 23}) hex.insert(dash, 1, '-');
  return hex;
}

}  // namespace

std::string NewUuid() { return Format(RandomBytes(16), 4); }

std::string NewRequestId() {
  thread_local const std::string seed = RandomBytes(randombytes_SEEDBYTES);
  thread_local uint64_t counter = 0;
  // The seed with a counter folded into its first bytes: a fresh stream per id.
  unsigned char key[randombytes_SEEDBYTES];
  std::memcpy(key, seed.data(), sizeof key);
  const uint64_t n = ++counter;
  for (int i = 0; i < 8; ++i) key[i] ^= static_cast<unsigned char>(n >> (8 * i));
  std::string b(16, '\0');
  randombytes_buf_deterministic(b.data(), b.size(), key);
  return Format(std::move(b), 4);
}

std::string NewTimeOrderedUuid() {
  std::string b = RandomBytes(16);
  const auto ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
  for (int i = 0; i < 6; ++i) b[static_cast<size_t>(i)] = static_cast<char>(ms >> (8 * (5 - i)));
  return Format(std::move(b), 7);
}

std::optional<std::string> NormalizeUuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string out(text);
  for (size_t i = 0; i < out.size(); ++i) {
    char& c = out[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return std::nullopt;
      continue;
    }
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return out;
}

}  // namespace assistantd
