#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace assistantd::auth {

// argon2id cost: OWASP's recommended minimum (19 MiB of memory, 2 passes, 1 lane; libsodium
// always uses one lane).
struct PasswordSettings {
  uint64_t ops_limit = 2;
  size_t mem_limit = 19u * 1024 * 1024;
};

// argon2id password hashing through libsodium (crypto_pwhash_str: a self-describing string
// with its own random salt and parameters, so costs can rise later without a migration).
class PasswordHasher {
 public:
  explicit PasswordHasher(PasswordSettings settings = {});

  Result<std::string> Hash(std::string_view password) const;
  // Constant-time comparison inside libsodium. False for a malformed hash.
  bool Verify(std::string_view hash, std::string_view password) const;
  // Spends the same time as Verify against a real hash and returns false: what a sign-in
  // for an unknown e-mail does, so both failures take as long.
  bool VerifyNothing(std::string_view password) const;
  // A stored hash made with weaker parameters than the current ones.
  bool NeedsRehash(std::string_view hash) const;

 private:
  PasswordSettings settings_;
  std::string dummy_hash_;
};

}  // namespace assistantd::auth
