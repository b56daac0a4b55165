#pragma once

#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "auth/jwt.hpp"
#include "common/clock.hpp"
#include "http/pipeline.hpp"
#include "storage/storage.hpp"

namespace assistantd::api {

// Bearer-token authentication: verifies the JWT and makes sure the caller has a user row
// (created on the first valid request of an unknown sub). Tokens this service issued from
// /auth/v1 (iss = `own_issuer`, with a session_id) also need their session to be alive, so
// sign-out, bans, password changes and user deletion reach the API within
// kSessionCheckSeconds instead of at the token's expiry.
class TokenAuthenticator final : public http::Authenticator {
 public:
  static constexpr int64_t kSessionCheckSeconds = 30;

  TokenAuthenticator(const auth::JwtVerifier& verifier, storage::UserStore& users,
                     const Clock& clock, std::string own_issuer)
      : verifier_(verifier), users_(users), clock_(clock), own_issuer_(std::move(own_issuer)) {}

  Result<domain::Principal> Authenticate(const http::Request& request) override;

  // Makes sure a user row exists for `id`, creating it with `role` and `email` if not.
  Result<void> EnsureUser(const std::string& id, domain::Role role,
                          const std::optional<std::string>& email);
  // Forgets that a user is known (after it was deleted), and their cached sessions.
  void Forget(const std::string& id);
  // Drops the cached session states of a user, so sessions ended here are refused at once
  // (other instances notice within kSessionCheckSeconds).
  void ForgetSessionsOf(const std::string& user_id);

 private:
  const auth::JwtVerifier& verifier_;
  storage::UserStore& users_;
  // Whether the session is alive, from a cache refreshed every kSessionCheckSeconds.
  Result<bool> SessionAlive(const std::string& session_id, const std::string& user_id);

  const Clock& clock_;
  const std::string own_issuer_;
  std::mutex mu_;
  std::unordered_set<std::string> known_users_;  // ids with a row, to skip the lookup
  struct SessionState {
    bool alive = false;
    int64_t checked_until_us = 0;
    std::string user_id;
  };
  std::unordered_map<std::string, SessionState> sessions_;
};

}  // namespace assistantd::api
