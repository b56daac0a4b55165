#pragma once

#include "storage/postgres/pg_database.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

class PgAuditStore final : public AuditStore {
 public:
  explicit PgAuditStore(PgDatabase& db) : db_(db) {}
  Result<domain::AuditEntry> Append(domain::AuditEntry entry) override;
  Result<std::vector<domain::AuditEntry>> QueryAudit(const AuditQuery& query) override;
  Result<std::vector<domain::AuditEntry>> ScanAudit(int64_t after_seq, int limit) override;

 private:
  PgDatabase& db_;
};

}  // namespace assistantd::storage
