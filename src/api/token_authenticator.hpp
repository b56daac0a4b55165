#pragma once

#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "auth/jwt.hpp"
#include "auth/signing_keys.hpp"
#include "common/clock.hpp"
#include "http/pipeline.hpp"
#include "storage/storage.hpp"

namespace assistantd::api {

// Bearer-token authentication: verifies the JWT and makes sure the caller has a user row
// (created on the first valid request of an unknown sub). Supabase's API keys in the
// `apikey` header are handled as Supabase's gateway does: a user's Bearer JWT wins; without
// one a secret key (sb_secret_…) is the service role, a publishable key (sb_publishable_…)
// the anonymous app, which the API refuses; an sb_ string we do not know is 401, and an sb_
// key is a Bearer credential only when it equals the apikey header. Tokens this service issued from
// /auth/v1 (iss = `own_issuer`, with a session_id) also need their session to be alive, so
// sign-out, bans, password changes and user deletion reach the API within
// kSessionCheckSeconds instead of at the token's expiry.
class TokenAuthenticator final : public http::Authenticator {
 public:
  static constexpr int64_t kSessionCheckSeconds = 30;

  // `api_keys` may be null: no API keys are known.
  TokenAuthenticator(const auth::JwtVerifier& verifier, storage::UserStore& users,
                     const Clock& clock, std::string own_issuer,
                     const auth::SigningKeys* api_keys = nullptr)
      : verifier_(verifier),
        users_(users),
        api_keys_(api_keys),
        clock_(clock),
        own_issuer_(std::move(own_issuer)) {}

  // Without `may_block`, kWouldBlock where the answer is not in memory yet (a session or user
  // not seen lately, a key set to fetch).
  Result<domain::Principal> Authenticate(const http::Request& request, bool may_block) override;
  Result<void> AdmitApp(const http::Request& request) override;

  // Makes sure a user row exists for `id`, creating it with `role` and `email` if not.
  Result<void> EnsureUser(const std::string& id, domain::Role role,
                          const std::optional<std::string>& email, bool may_block = true);
  // Forgets that a user is known (after it was deleted), and their cached sessions.
  void Forget(const std::string& id);
  // Drops the cached session states of a user, so sessions ended here are refused at once
  // (other instances notice within kSessionCheckSeconds).
  void ForgetSessionsOf(const std::string& user_id);

 private:
  // The type of the sb_ key in `apikey`, or 401 when it is not one we know.
  Result<auth::ApiKeyType> KnownApiKey(std::string_view key) const;

  const auth::JwtVerifier& verifier_;
  storage::UserStore& users_;
  const auth::SigningKeys* api_keys_;
  // Whether the session is alive, from a cache refreshed every kSessionCheckSeconds.
  Result<bool> SessionAlive(const std::string& session_id, const std::string& user_id,
                            bool may_block);

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
