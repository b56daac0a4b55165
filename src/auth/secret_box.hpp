#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace assistantd::auth {

inline constexpr size_t kSecretBoxKeyBytes = 32;

// Authenticated encryption at rest (libsodium crypto_secretbox: XSalsa20-Poly1305) under the
// master key. Sealed values are nonce || ciphertext; a tampered or foreign value never opens.
class SecretBox {
 public:
  // `key` (and each accepted key) must be kSecretBoxKeyBytes raw bytes. `key` seals; values
  // sealed under an accepted key still open (a master key being rotated in or out).
  explicit SecretBox(std::string key, std::vector<std::string> accepted = {});
  ~SecretBox();
  SecretBox(const SecretBox&) = delete;
  SecretBox& operator=(const SecretBox&) = delete;

  std::string Seal(std::string_view plaintext) const;
  std::optional<std::string> Open(std::string_view sealed) const;
  // Whether `sealed` opens with the sealing key itself (nothing to re-seal).
  bool SealedWithCurrentKey(std::string_view sealed) const;

 private:
  static std::optional<std::string> OpenWith(const std::string& key, std::string_view sealed);
  std::string key_;
  std::vector<std::string> accepted_;
};

// Keeps the last 4 characters: "••••abcd" (shorter values are fully masked).
std::string MaskSecret(std::string_view secret);

}  // namespace assistantd::auth
