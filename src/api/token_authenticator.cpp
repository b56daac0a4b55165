#include "api/token_authenticator.hpp"

#include <algorithm>

#include "api/request_parsing.hpp"

namespace assistantd::api {

namespace {

tl::unexpected<Error> InvalidApiKey() {
  return Fail(ErrorCode::kUnauthenticated, "invalid_api_key", "Invalid API key");
}

// Supabase refuses secret keys from browsers (their User-Agent says Mozilla/…): a secret
// key in a web page is a leaked key.
Result<void> RefuseSecretKeyInBrowser(const http::Request& request) {
  const auto ua = request.Header("user-agent");
  if (!ua || ua->find("Mozilla/") == std::string_view::npos) return {};
  return Fail(ErrorCode::kUnauthenticated, "secret_key_in_browser",
              "Secret API keys cannot be used from a browser; use the publishable key");
}

}  // namespace

Result<auth::ApiKeyType> TokenAuthenticator::KnownApiKey(std::string_view key) const {
  if (!api_keys_) return InvalidApiKey();
  const auto type = api_keys_->LookupApiKey(key);
  if (!type) return InvalidApiKey();
  return *type;
}

Result<void> TokenAuthenticator::AdmitApp(const http::Request& request) {
  const auto key = request.Header("apikey");
  const bool keys_configured = api_keys_ && api_keys_->HasApiKeys();
  if (!key || key->empty()) {
    if (!keys_configured) return {};
    return Fail(ErrorCode::kUnauthenticated, "no_api_key", "No API key found in request");
  }
  if (key->starts_with("sb_")) {
    auto type = KnownApiKey(*key);
    if (!type) return tl::unexpected(type.error());
    return *type == auth::ApiKeyType::kSecret ? RefuseSecretKeyInBrowser(request) : Result<void>{};
  }
  // A legacy anon or service_role JWT: checked once the operator has configured API keys
  // (before that, /auth/v1 never looked at the header).
  if (keys_configured) {
    const auto role = verifier_.VerifyKeyRole(*key);
    if (!role || (*role != "anon" && *role != "service_role")) return InvalidApiKey();
  }
  return {};
}

Result<domain::Principal> TokenAuthenticator::Authenticate(const http::Request& request,
                                                           bool may_block) {
  const auto apikey = request.Header("apikey");
  auto bearer = BearerCredential(request);
  if (!bearer) return tl::unexpected(bearer.error());
  std::optional<std::string_view> token = *bearer;
  if (apikey && apikey->starts_with("sb_")) {
    auto type = KnownApiKey(*apikey);
    if (!type) return tl::unexpected(type.error());
    // An sb_ key is never a Bearer credential of its own; supabase-js sends the key there
    // when there is no session, and then it must be the same key.
    if (token && token->starts_with("sb_")) {
      if (*token != *apikey) return InvalidApiKey();
      token.reset();
    }
    if (!token) {
      if (*type == auth::ApiKeyType::kPublishable) {
        return Fail(ErrorCode::kUnauthenticated, "missing_token",
                    "A publishable key identifies the app only; sign in and send the user's "
                    "access token as Authorization: Bearer <token>");
      }
      if (auto r = RefuseSecretKeyInBrowser(request); !r) return tl::unexpected(r.error());
      return domain::Principal{domain::Role::kServiceRole, std::nullopt, std::nullopt};
    }
  } else if (token && token->starts_with("sb_")) {
    return InvalidApiKey();
  }
  // Supabase clients without a session send a legacy key only as `apikey`; a JWT there (an
  // anon or service_role key) authenticates like a Bearer token would.
  if (!token && apikey && std::count(apikey->begin(), apikey->end(), '.') == 2) token = *apikey;
  if (!token) {
    return Fail(ErrorCode::kUnauthenticated, "missing_token",
                "Authorization: Bearer <token> is required");
  }
  auto verified = verifier_.Verify(*token, may_block);
  if (!verified) return tl::unexpected(verified.error());
  const domain::Principal& p = verified->principal;
  const auto& claims = verified->Claims();
  const auto sid = claims.find("session_id");
  const auto iss = claims.find("iss");
  if (verified->origin == auth::KeyOrigin::kOwn && sid != claims.end() && sid->is_string() &&
      iss != claims.end() && iss->is_string() &&
      iss->get_ref<const std::string&>() == own_issuer_) {
    auto alive = SessionAlive(sid->get<std::string>(), p.user_id.value_or(""), may_block);
    if (!alive) return tl::unexpected(alive.error());
    if (!*alive) {
      return Fail(ErrorCode::kUnauthenticated, "session_not_found",
                  "The session of this token has ended; sign in again");
    }
  }
  if (p.user_id) {
    if (auto r = EnsureUser(*p.user_id,
                            p.role == domain::Role::kServiceRole ? domain::Role::kAdmin : p.role,
                            p.email, may_block);
        !r) {
      return tl::unexpected(r.error());
    }
  }
  return p;
}

Result<bool> TokenAuthenticator::SessionAlive(const std::string& session_id,
                                              const std::string& user_id, bool may_block) {
  const int64_t now = clock_.NowMicros();
  {
    std::lock_guard lock(mu_);
    const auto it = sessions_.find(session_id);
    if (it != sessions_.end() && it->second.checked_until_us > now) return it->second.alive;
  }
  if (!may_block) return WouldBlock();
  const auto id = session_id.size() == 36 ? std::optional<std::string>(session_id) : std::nullopt;
  bool alive = false;
  if (id) {
    auto session = users_.GetSession(*id);
    if (!session) return tl::unexpected(session.error());
    alive = session->has_value() && (*session)->user_id == user_id;
  }
  std::lock_guard lock(mu_);
  if (sessions_.size() > 100'000) {
    std::erase_if(sessions_, [now](const auto& kv) { return kv.second.checked_until_us <= now; });
  }
  sessions_[session_id] = SessionState{alive, now + kSessionCheckSeconds * 1'000'000, user_id};
  return alive;
}

Result<void> TokenAuthenticator::EnsureUser(const std::string& id, domain::Role role,
                                            const std::optional<std::string>& email,
                                            bool may_block) {
  {
    std::lock_guard lock(mu_);
    if (known_users_.count(id)) return {};
  }
  if (!may_block) return WouldBlock();
  const int64_t now = clock_.NowMicros();
  if (auto r = users_.EnsureUser(domain::MakeUser(id, email, role, now)); !r) return r;
  std::lock_guard lock(mu_);
  known_users_.insert(id);
  return {};
}

void TokenAuthenticator::Forget(const std::string& id) {
  ForgetSessionsOf(id);
  std::lock_guard lock(mu_);
  known_users_.erase(id);
}

void TokenAuthenticator::ForgetSessionsOf(const std::string& user_id) {
  std::lock_guard lock(mu_);
  std::erase_if(sessions_, [&](const auto& kv) { return kv.second.user_id == user_id; });
}

}  // namespace assistantd::api
