#pragma once

#include "storage/postgres/pg_database.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

class PgUserStore final : public UserStore {
 public:
  explicit PgUserStore(PgDatabase& db) : db_(db) {}

  Result<void> EnsureUser(const domain::User& user) override;
  Result<std::optional<domain::User>> GetUser(const std::string& id) override;
  Result<UserPage> ListUsers(const std::optional<domain::ListCursor>& after, int limit) override;
  Result<bool> DeleteUser(const std::string& id, int64_t now_us) override;

 private:
  PgDatabase& db_;
};

}  // namespace assistantd::storage
