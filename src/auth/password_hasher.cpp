#include "auth/password_hasher.hpp"

#include <sodium.h>

#include <stdexcept>

namespace assistantd::auth {

PasswordHasher::PasswordHasher(PasswordSettings settings) : settings_(settings) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  char random[32];
  randombytes_buf(random, sizeof random);
  auto dummy = Hash(std::string_view(random, sizeof random));
  if (!dummy) throw std::runtime_error("argon2id hashing failed at start-up");
  dummy_hash_ = std::move(*dummy);
}

Result<std::string> PasswordHasher::Hash(std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), settings_.ops_limit,
                            settings_.mem_limit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Internal("argon2id hashing failed (out of memory?)");
  }
  return std::string(out);
}

bool PasswordHasher::Verify(std::string_view hash, std::string_view password) const {
  if (hash.size() >= crypto_pwhash_STRBYTES) return false;
  char stored[crypto_pwhash_STRBYTES] = {};
  hash.copy(stored, hash.size());
  return crypto_pwhash_str_verify(stored, password.data(), password.size()) == 0;
}

bool PasswordHasher::VerifyNothing(std::string_view password) const {
  (void)Verify(dummy_hash_, password);
  return false;
}

bool PasswordHasher::NeedsRehash(std::string_view hash) const {
  if (hash.size() >= crypto_pwhash_STRBYTES) return true;
  char stored[crypto_pwhash_STRBYTES] = {};
  hash.copy(stored, hash.size());
  return crypto_pwhash_str_needs_rehash(stored, settings_.ops_limit, settings_.mem_limit) != 0;
}

}  // namespace assistantd::auth
