#include "api/token_authenticator.hpp"

#include <algorithm>

namespace assistantd::api {

Result<domain::Principal> TokenAuthenticator::Authenticate(const http::Request& request) {
  auto header = request.Header("authorization");
  // Supabase clients without a session send their key only as `apikey`; a JWT there (a
  // legacy anon or service_role key) authenticates like a Bearer token would.
  std::string from_apikey;
  if ((!header || header->empty())) {
    if (const auto key = request.Header("apikey");
        key && std::count(key->begin(), key->end(), '.') == 2) {
      from_apikey = "Bearer " + std::string(*key);
      header = from_apikey;
    }
  }
  if (!header || header->empty()) {
    return Fail(ErrorCode::kUnauthenticated, "missing_token",
                "Authorization: Bearer <token> is required");
  }
  constexpr std::string_view kScheme = "bearer ";
  std::string prefix(header->substr(0, kScheme.size()));
  for (auto& c : prefix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (prefix != kScheme) {
    return Fail(ErrorCode::kUnauthenticated, "missing_token",
                "Authorization must use the Bearer scheme");
  }
  auto token = header->substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  auto verified = verifier_.Verify(token);
  if (!verified) return tl::unexpected(verified.error());
  const domain::Principal& p = verified->principal;
  const auto& claims = verified->claims;
  const auto sid = claims.find("session_id");
  const auto iss = claims.find("iss");
  if (sid != claims.end() && sid->is_string() && iss != claims.end() && iss->is_string() &&
      iss->get_ref<const std::string&>() == own_issuer_) {
    auto alive = SessionAlive(sid->get<std::string>(), p.user_id.value_or(""));
    if (!alive) return tl::unexpected(alive.error());
    if (!*alive) {
      return Fail(ErrorCode::kUnauthenticated, "session_not_found",
                  "The session of this token has ended; sign in again");
    }
  }
  if (p.user_id) {
    if (auto r = EnsureUser(*p.user_id, p.role == domain::Role::kServiceRole ? domain::Role::kAdmin
                                                                             : p.role,
                            p.email);
        !r) {
      return tl::unexpected(r.error());
    }
  }
  return p;
}

Result<bool> TokenAuthenticator::SessionAlive(const std::string& session_id,
                                              const std::string& user_id) {
  const int64_t now = clock_.NowMicros();
  {
    std::lock_guard lock(mu_);
    const auto it = sessions_.find(session_id);
    if (it != sessions_.end() && it->second.checked_until_us > now) return it->second.alive;
  }
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
                                            const std::optional<std::string>& email) {
  {
    std::lock_guard lock(mu_);
    if (known_users_.count(id)) return {};
  }
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
