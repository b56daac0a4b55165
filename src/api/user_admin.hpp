#pragma once

#include <optional>
#include <string>

#include "api/token_authenticator.hpp"
#include "audit/audit_log.hpp"
#include "auth/password_hasher.hpp"
#include "http/router.hpp"
#include "storage/storage.hpp"
#include "sync/notifier.hpp"

namespace assistantd::api {

// What an admin asks to change in an account, whichever wire shape it came in
// (/v1/admin/users in camelCase or GoTrue's /auth/v1/admin/users). Values are checked by the
// adapter that parsed them.
struct UserChanges {
  std::optional<std::string> email;          // normalised
  std::optional<std::string> password;       // plain; hashed here
  std::optional<std::string> password_hash;  // an argon2id string, taken as is
  std::optional<domain::Role> role;
  std::optional<bool> email_confirmed;
  bool change_ban = false;                      // then banned_until_us is the new value
  std::optional<int64_t> banned_until_us;       // nullopt with change_ban: the ban is lifted
  std::optional<int64_t> ban_for_us;            // with change_ban: banned for this long from now
  std::optional<nlohmann::json> user_metadata;  // merged into the old (null deletes a key)
  std::optional<nlohmann::json> app_metadata;   // likewise
};

// The one implementation of admin user management behind both admin APIs: create, read,
// change and delete accounts, ending sessions where a change requires it (ban, new
// password), deleting a user's assistants (and, through the outbox, their Vapi copies), and
// an audit entry for every change. Errors: kNotFound user_not_found, kConflict
// user_already_exists on create, and the store's email_exists on an e-mail change.
class UserAdmin {
 public:
  UserAdmin(storage::UserStore& users, TokenAuthenticator& authenticator,
            sync::SyncNotifier& notifier, const auth::PasswordHasher& hasher,
            audit::AuditLog& audit, const Clock& clock)
      : users_(users),
        authenticator_(authenticator),
        notifier_(notifier),
        hasher_(hasher),
        audit_(audit),
        clock_(clock) {}

  // A new account with `email`; `id` when given (else a new UUID). Without a password or
  // hash it gets a random password (the user then needs a new one to sign in).
  Result<domain::User> Create(const http::RequestContext& ctx, const std::optional<std::string>& id,
                              const std::string& email, const UserChanges& changes);
  Result<domain::User> Get(const std::string& id);
  Result<domain::User> Update(const http::RequestContext& ctx, const std::string& id,
                              const UserChanges& changes);
  // Hard deletion (with the user's assistants), or soft: the row stays, anonymised (no
  // e-mail, password or metadata), banned for good and signed out everywhere.
  Result<void> Delete(const http::RequestContext& ctx, const std::string& id, bool soft);

  storage::UserStore& users() { return users_; }

 private:
  // Applies `changes` to `user`; true if every session must end (ban, new password).
  Result<bool> Apply(domain::User& user, const UserChanges& changes, int64_t now_us);
  Result<void> EndSessions(const std::string& user_id);

  storage::UserStore& users_;
  TokenAuthenticator& authenticator_;
  sync::SyncNotifier& notifier_;
  const auth::PasswordHasher& hasher_;
  audit::AuditLog& audit_;
  const Clock& clock_;
};

// A user as the admin API shows it (camelCase; never the password hash).
nlohmann::json AdminUserJson(const domain::User& user);

}  // namespace assistantd::api
