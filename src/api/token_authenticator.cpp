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
  std::lock_guard lock(mu_);
  known_users_.erase(id);
}

}  // namespace assistantd::api
