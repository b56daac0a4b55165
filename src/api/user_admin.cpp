#include "api/user_admin.hpp"

#include "api/audit_actor.hpp"
#include "api/profile_api.hpp"
#include "auth/session_tokens.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"
#include "domain/account_rules.hpp"

namespace assistantd::api {
namespace {

using nlohmann::json;

json OptionalTime(const std::optional<int64_t>& us) {
  return us ? json(FormatTimestamp(*us)) : json(nullptr);
}

tl::unexpected<Error> UserNotFound() {
  return Fail(ErrorCode::kNotFound, "user_not_found", "User not found");
}

// A ban "for good": the largest instant RFC 3339 prints with four year digits.
constexpr int64_t kForeverUs = 253402300799LL * 1'000'000;

}  // namespace

json AdminUserJson(const domain::User& u) {
  return {{"id", u.id},
          {"email", u.email ? json(*u.email) : json(nullptr)},
          {"role", domain::ToString(u.role)},
          {"hasPassword", u.password_hash.has_value()},
          {"emailConfirmedAt", OptionalTime(u.email_confirmed_at_us)},
          {"lastSignInAt", OptionalTime(u.last_sign_in_at_us)},
          {"bannedUntil", OptionalTime(u.banned_until_us)},
          {"userMetadata", u.user_metadata},
          {"appMetadata", u.app_metadata},
          {"profile", ProfileJson(u)},
          {"createdAt", FormatTimestamp(u.created_at_us)},
          {"updatedAt", FormatTimestamp(u.updated_at_us)}};
}

Result<bool> UserAdmin::Apply(domain::User& user, const UserChanges& c, int64_t now_us) {
  bool end_sessions = false;
  if (c.email) user.email = *c.email;
  if (c.role) user.role = *c.role;
  if (c.email_confirmed) {
    if (!*c.email_confirmed) {
      user.email_confirmed_at_us.reset();
    } else if (!user.email_confirmed_at_us) {
      user.email_confirmed_at_us = now_us;
    }
  }
  if (c.change_ban) {
    user.banned_until_us =
        c.ban_for_us ? std::optional<int64_t>(now_us + *c.ban_for_us) : c.banned_until_us;
    end_sessions = user.banned_until_us && *user.banned_until_us > now_us;
  }
  if (c.user_metadata) {
    user.user_metadata = domain::MergeMetadata(user.user_metadata, *c.user_metadata);
    if (auto size = domain::CheckMetadata(user.user_metadata, domain::Metadata::kUser); !size)
      return tl::unexpected(size.error());
  }
  if (c.app_metadata) {
    user.app_metadata = domain::MergeMetadata(user.app_metadata, *c.app_metadata);
    if (auto size = domain::CheckMetadata(user.app_metadata, domain::Metadata::kApp); !size)
      return tl::unexpected(size.error());
  }
  if (c.password_hash) {
    user.password_hash = *c.password_hash;
    end_sessions = true;
  } else if (c.password) {
    auto hash = hasher_.Hash(*c.password);
    if (!hash) return tl::unexpected(hash.error());
    user.password_hash = std::move(*hash);
    end_sessions = true;
  }
  return end_sessions;
}

Result<void> UserAdmin::EndSessions(const std::string& user_id) {
  if (auto r = users_.EndSessions(user_id, storage::SessionScope::kAll, "", std::nullopt); !r) {
    return tl::unexpected(r.error());
  }
  authenticator_.ForgetSessionsOf(user_id);
  return {};
}

Result<domain::User> UserAdmin::Create(const http::RequestContext& ctx,
                                       const std::optional<std::string>& id,
                                       const std::string& email, const UserChanges& changes) {
  const int64_t now = clock_.NowMicros();
  domain::User user = domain::MakeUser(id.value_or(NewUuid()), email, domain::Role::kUser, now);
  UserChanges c = changes;
  if (!c.password && !c.password_hash) {
    c.password = auth::NewRefreshToken();  // 256 random bits nobody knows
  }
  if (auto applied = Apply(user, c, now); !applied) return tl::unexpected(applied.error());
  if (auto r = users_.CreateAccount(
          user,
          audit_.Entry(ActorFor(ctx),
                       {"user.create", "user", user.id, user.id, nullptr, AdminUserJson(user)}),
          std::nullopt);
      !r) {
    if (r.error().reason == "user_already_exists") {
      return Fail(ErrorCode::kConflict, "user_already_exists",
                  "An account with this email address already exists");
    }
    return tl::unexpected(r.error());
  }
  audit_.Appended();
  return user;
}

Result<domain::User> UserAdmin::Get(const std::string& id) {
  auto user = users_.GetUser(id);
  if (!user) return tl::unexpected(user.error());
  if (!*user) return UserNotFound();
  return std::move(**user);
}

Result<domain::User> UserAdmin::Update(const http::RequestContext& ctx, const std::string& id,
                                       const UserChanges& changes) {
  auto found = Get(id);
  if (!found) return found;
  const domain::User before = *found;
  domain::User user = before;
  const int64_t now = clock_.NowMicros();
  auto end_sessions = Apply(user, changes, now);
  if (!end_sessions) return tl::unexpected(end_sessions.error());
  user.updated_at_us = now;
  json after_json = AdminUserJson(user);
  if (changes.password || changes.password_hash) after_json["password"] = "changed";
  auto updated = users_.UpdateUser(
      user, audit_.Entry(ActorFor(ctx),
                         {before.role != user.role ? "user.role_change" : "user.update", "user",
                          user.id, user.id, AdminUserJson(before), std::move(after_json)}));
  if (!updated) return tl::unexpected(updated.error());
  if (!*updated) return UserNotFound();
  audit_.Appended();
  if (*end_sessions) {
    if (auto r = EndSessions(user.id); !r) return tl::unexpected(r.error());
  }
  return user;
}

Result<void> UserAdmin::Delete(const http::RequestContext& ctx, const std::string& id, bool soft) {
  auto found = users_.GetUser(id);
  if (!found) return tl::unexpected(found.error());
  if (!*found) return UserNotFound();
  if (soft) {
    domain::User user = **found;
    user.email.reset();
    user.password_hash.reset();
    user.email_confirmed_at_us.reset();
    user.user_metadata = json::object();
    user.app_metadata = json::object();
    user.display_name.reset();
    user.preferences = json::object();
    user.banned_until_us = kForeverUs;
    user.updated_at_us = clock_.NowMicros();
    auto updated = users_.UpdateUser(
        user, audit_.Entry(ActorFor(ctx), {"user.soft_delete", "user", id, id,
                                           AdminUserJson(**found), AdminUserJson(user)}));
    if (!updated) return tl::unexpected(updated.error());
    if (!*updated) return UserNotFound();
    audit_.Appended();
    return EndSessions(id);
  }
  auto deleted = users_.DeleteUser(id, clock_.NowMicros(),
                                   audit_.Entry(ActorFor(ctx), {"user.delete", "user", id, id,
                                                                AdminUserJson(**found), nullptr}));
  if (!deleted) return tl::unexpected(deleted.error());
  authenticator_.Forget(id);
  notifier_.Notify();
  if (!*deleted) return UserNotFound();
  audit_.Appended();
  return {};
}

}  // namespace assistantd::api
