#include "auth/secret_box.hpp"

#include <sodium.h>

#include <mutex>
#include <stdexcept>

namespace assistantd::auth {

SecretBox::SecretBox(std::string key, std::vector<std::string> accepted)
    : key_(std::move(key)), accepted_(std::move(accepted)) {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  });
  if (key_.size() != crypto_secretbox_KEYBYTES) {
    throw std::invalid_argument("SecretBox key must be 32 bytes");
  }
  for (const auto& k : accepted_) {
    if (k.size() != crypto_secretbox_KEYBYTES) {
      throw std::invalid_argument("SecretBox key must be 32 bytes");
    }
  }
}

SecretBox::~SecretBox() {
  sodium_memzero(key_.data(), key_.size());
  for (auto& k : accepted_) sodium_memzero(k.data(), k.size());
}

std::string SecretBox::Seal(std::string_view plaintext) const {
  std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                        nonce, reinterpret_cast<const unsigned char*>(key_.data()));
  return out;
}

std::optional<std::string> SecretBox::Open(std::string_view sealed) const {
  if (auto opened = OpenWith(key_, sealed)) return opened;
  for (const auto& k : accepted_) {
    if (auto opened = OpenWith(k, sealed)) return opened;
  }
  return std::nullopt;
}

bool SecretBox::SealedWithCurrentKey(std::string_view sealed) const {
  return OpenWith(key_, sealed).has_value();
}

std::optional<std::string> SecretBox::OpenWith(const std::string& key, std::string_view sealed) {
  if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) return std::nullopt;
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
  const size_t cipher_len = sealed.size() - crypto_secretbox_NONCEBYTES;
  std::string out(cipher_len - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(out.data()),
                                 nonce + crypto_secretbox_NONCEBYTES, cipher_len, nonce,
                                 reinterpret_cast<const unsigned char*>(key.data())) != 0) {
    return std::nullopt;
  }
  return out;
}

std::string MaskSecret(std::string_view secret) {
  if (secret.size() <= 8) return "••••";
  return "••••" + std::string(secret.substr(secret.size() - 4));
}

}  // namespace assistantd::auth
