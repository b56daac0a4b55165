#pragma once

#include <mutex>
#include <string>
#include <unordered_set>

#include "auth/jwt.hpp"
#include "common/clock.hpp"
#include "http/pipeline.hpp"
#include "storage/storage.hpp"

namespace assistantd::api {

// Bearer-token authentication: verifies the JWT and makes sure the caller has a user row
// (created on the first valid request of an unknown sub).
class TokenAuthenticator final : public http::Authenticator {
 public:
  TokenAuthenticator(const auth::JwtVerifier& verifier, storage::UserStore& users,
                     const Clock& clock)
      : verifier_(verifier), users_(users), clock_(clock) {}

  Result<domain::Principal> Authenticate(const http::Request& request) override;

  // Makes sure a user row exists for `id`, creating it with `role` and `email` if not.
  Result<void> EnsureUser(const std::string& id, domain::Role role,
                          const std::optional<std::string>& email);
  // Forgets that a user is known (after it was deleted).
  void Forget(const std::string& id);

 private:
  const auth::JwtVerifier& verifier_;
  storage::UserStore& users_;
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_set<std::string> known_users_;  // ids with a row, to skip the lookup
};

}  // namespace assistantd::api
