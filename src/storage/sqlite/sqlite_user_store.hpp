#pragma once

#include "storage/sqlite/sqlite_database.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

class SqliteUserStore final : public UserStore {
 public:
  explicit SqliteUserStore(SqliteDatabase& db) : db_(db) {}

  Result<void> EnsureUser(const domain::User& user) override;
  Result<std::optional<domain::User>> GetUser(const std::string& id) override;
  Result<UserPage> ListUsers(const std::optional<domain::ListCursor>& after, int limit) override;
  Result<NumberedUserPage> ListUsersNumbered(int64_t offset, int limit) override;
  Result<bool> DeleteUser(const std::string& id, int64_t now_us, const ChangeAudit& audit) override;
  Result<void> CreateAccount(const domain::User& user, const ChangeAudit& audit,
                             const std::optional<NewSession>& first_session) override;
  Result<std::optional<domain::User>> FindAccountByEmail(const std::string& email) override;
  Result<bool> UpdateUser(const domain::User& user, const ChangeAudit& audit) override;
  Result<void> CreateSession(const NewSession& session) override;
  Result<std::optional<AuthSession>> GetSession(const std::string& id) override;
  Result<RefreshOutcome> RefreshSession(const std::string& token_hash,
                                        const std::string& new_token_hash, int64_t now_us,
                                        int64_t reuse_interval_us,
                                        const ChangeAudit& on_reuse) override;
  Result<std::optional<std::string>> RefreshTokenOwner(const std::string& token_hash) override;
  Result<int> EndSessions(const std::string& user_id, SessionScope scope,
                          const std::string& session_id, const ChangeAudit& audit) override;

 private:
  SqliteDatabase& db_;
};

}  // namespace assistantd::storage
