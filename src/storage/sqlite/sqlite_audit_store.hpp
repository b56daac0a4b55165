#pragma once

#include "storage/sqlite/sqlite_database.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

class SqliteAuditStore final : public AuditStore {
 public:
  explicit SqliteAuditStore(SqliteDatabase& db) : db_(db) {}
  Result<domain::AuditEntry> Append(domain::AuditEntry entry) override;
  Result<std::vector<domain::AuditEntry>> QueryAudit(const AuditQuery& query) override;
  Result<std::vector<domain::AuditEntry>> ScanAudit(int64_t after_seq, int limit) override;

 private:
  SqliteDatabase& db_;
};

}  // namespace assistantd::storage
