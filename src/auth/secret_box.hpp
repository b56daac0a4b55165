#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace assistantd::auth {

inline constexpr size_t kSecretBoxKeyBytes = 32;

// Authenticated encryption at rest (libsodium crypto_secretbox: XSalsa20-Poly1305) under the
// master key. Sealed values are nonce || ciphertext; a tampered or foreign value never opens.
class SecretBox {
 public:
  // `key` must be kSecretBoxKeyBytes raw bytes.
  explicit SecretBox(std::string key);
  ~SecretBox();
  SecretBox(const SecretBox&) = delete;
  SecretBox& operator=(const SecretBox&) = delete;

  std::string Seal(std::string_view plaintext) const;
  std::optional<std::string> Open(std::string_view sealed) const;

 private:
  std::string key_;
};

// Keeps the last 4 characters: "••••abcd" (shorter values are fully masked).
std::string MaskSecret(std::string_view secret);

}  // namespace assistantd::auth
