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
  Result<bool> DeleteUser(const std::string& id, int64_t now_us) override;

 private:
  SqliteDatabase& db_;
};

}  // namespace assistantd::storage
