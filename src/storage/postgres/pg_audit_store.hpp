#pragma once

#include <atomic>
#include <thread>

#include "storage/postgres/pg_database.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

// Inserts `entry` unsealed (no seq, no hashes) in the caller's transaction; a sealer gives it
// its place in the chain once committed. The caller's claims must allow it (its actor or
// subject, or an admin).
Result<void> PgAppendUnsealed(PgConnection& conn, const domain::AuditEntry& entry);
// The same for a change's optional entry (nothing to do without one).
Result<void> PgAppendUnsealed(PgConnection& conn, const ChangeAudit& audit);

// The audit log on PostgreSQL. Writers insert entries unsealed in their own transactions;
// Seal() chains committed entries in order under an advisory lock held only by the sealer, so
// no writer holds the chain's lock across its commit. Queries seal first, so every
// acknowledged entry is visible to them.
class PgAuditStore final : public AuditStore {
 public:
  explicit PgAuditStore(PgDatabase& db) : db_(db) {}
  ~PgAuditStore() override;
  Result<domain::AuditEntry> Append(domain::AuditEntry entry) override;
  Result<std::vector<domain::AuditEntry>> QueryAudit(const AuditQuery& query) override;
  Result<std::vector<domain::AuditEntry>> ScanAudit(int64_t after_seq, int limit) override;
  Result<int64_t> UnsealedCount() override;

  // Seals every committed unsealed entry (of any instance); returns how many.
  Result<int64_t> Seal();
  // Seals in the background after each batch of writes commits, and every second (entries
  // of other instances and commands). Stopped by the destructor.
  void StartSealer(Logger logger);

 private:
  PgDatabase& db_;
  std::atomic<bool> stop_{false};
  std::thread sealer_;
};

}  // namespace assistantd::storage
