#pragma once

#include "storage/sqlite/sqlite_database.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

// Appends `entry` after the last entry inside the caller's write transaction, setting its
// seq, prev_hash and hash.
Result<void> AppendAudit(SqliteConnection& conn, domain::AuditEntry& entry);
// The same for a change's optional entry (nothing to do without one).
Result<void> AppendAudit(SqliteConnection& conn, const ChangeAudit& audit);

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
