#include "common/encoding.hpp"

#include <sodium.h>

#include <stdexcept>

namespace assistantd {
namespace {

void EnsureSodium() {
  static const bool ready = sodium_init() >= 0;  // idempotent and thread-safe
  if (!ready) throw std::runtime_error("libsodium failed to initialise");
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

constexpr int kUrlNoPadding = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

}  // namespace

std::string Base64UrlEncode(std::string_view in) {
  EnsureSodium();
  std::string out(sodium_base64_encoded_len(in.size(), kUrlNoPadding), '\0');
  sodium_bin2base64(out.data(), out.size(), Bytes(in), in.size(), kUrlNoPadding);
  out.resize(out.size() - 1);  // the terminating NUL libsodium writes
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view in) {
  EnsureSodium();
  std::string out(in.size() * 3 / 4 + 1, '\0');
  size_t length = 0;
  // No ignored characters and no end pointer: every byte must be part of the encoding;
  // libsodium also refuses non-zero unused trailing bits.
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), in.data(),
                        in.size(), nullptr, &length, nullptr, kUrlNoPadding) != 0) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

std::string HexEncode(std::string_view bytes) {
  EnsureSodium();
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), Bytes(bytes), bytes.size());
  out.pop_back();
  return out;
}

std::string ShortDigest(std::string_view bytes) {
  EnsureSodium();
  std::string out(16, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(), Bytes(bytes),
                     bytes.size(), nullptr, 0);
  return out;
}

std::string RandomBytes(size_t n) {
  EnsureSodium();
  std::string out(n, '\0');
  randombytes_buf(out.data(), out.size());
  return out;
}

}  // namespace assistantd
