#pragma once

#include "storage/sqlite/sqlite_database.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

class SqliteKeyStore final : public KeyStore {
 public:
  explicit SqliteKeyStore(SqliteDatabase& db) : db_(db) {}
  Result<void> PutKey(const std::string& owner, const StoredKey& key,
                      const ChangeAudit& audit) override;
  Result<std::optional<StoredKey>> GetKey(const std::string& owner) override;
  Result<bool> DeleteKey(const std::string& owner, const ChangeAudit& audit) override;
  Result<std::vector<std::pair<std::string, StoredKey>>> AllKeys() override;
  Result<ResealCounts> Reseal(
      const ResealFn& reseal,
      const std::function<ChangeAudit(const ResealCounts&)>& audit) override;

 private:
  SqliteDatabase& db_;
};

}  // namespace assistantd::storage
