#include "storage/sqlite/sqlite_key_store.hpp"

#include "storage/reseal_plan.hpp"
#include "storage/sqlite/sqlite_audit_store.hpp"

namespace assistantd::storage {

Result<void> SqliteKeyStore::PutKey(const std::string& owner, const StoredKey& key,
                                    const ChangeAudit& audit) {
  return db_.Write([&](SqliteConnection& conn) -> Result<void> {
    auto stmt = conn.Prepare(
        "INSERT INTO vapi_keys (owner, sealed, last4, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (owner) DO UPDATE SET sealed = excluded.sealed, last4 = excluded.last4, "
        "updated_at = excluded.updated_at");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, std::string_view(owner));
    stmt->BindBlob(2, key.sealed);
    stmt->Bind(3, std::string_view(key.last4));
    stmt->Bind(4, key.updated_at_us);
    if (auto r = stmt->Run(); !r) return r;
    return AppendAudit(conn, audit);
  });
}

Result<std::optional<StoredKey>> SqliteKeyStore::GetKey(const std::string& owner) {
  auto conn = db_.Acquire();
  auto stmt = conn->Prepare("SELECT sealed, last4, updated_at FROM vapi_keys WHERE owner = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, std::string_view(owner));
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<StoredKey>();
  return std::optional<StoredKey>(StoredKey{stmt->Blob(0), stmt->Text(1), stmt->Int(2)});
}

Result<bool> SqliteKeyStore::DeleteKey(const std::string& owner, const ChangeAudit& audit) {
  return db_.WriteValue<bool>([&](SqliteConnection& conn) -> Result<bool> {
    auto stmt = conn.Prepare("DELETE FROM vapi_keys WHERE owner = ?");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, std::string_view(owner));
    if (auto r = stmt->Run(); !r) return tl::unexpected(r.error());
    const bool deleted = conn.Changes() > 0;
    if (deleted) {
      if (auto r = AppendAudit(conn, audit); !r) return tl::unexpected(r.error());
    }
    return deleted;
  });
}

Result<std::vector<std::pair<std::string, StoredKey>>> SqliteKeyStore::AllKeys() {
  auto conn = db_.Acquire();
  auto stmt =
      conn->Prepare("SELECT owner, sealed, last4, updated_at FROM vapi_keys ORDER BY owner");
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<std::pair<std::string, StoredKey>> out;
  for (;;) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return out;
    out.emplace_back(stmt->Text(0), StoredKey{stmt->Blob(1), stmt->Text(2), stmt->Int(3)});
  }
}

Result<KeyStore::ResealCounts> SqliteKeyStore::Reseal(
    const ResealFn& reseal, const std::function<ChangeAudit(const ResealCounts&)>& audit) {
  return db_.WriteValue<ResealCounts>([&](SqliteConnection& conn) -> Result<ResealCounts> {
    std::vector<SealedRow> rows;
    for (const auto& [job, sql] :
         {std::pair{false, "SELECT owner, sealed FROM vapi_keys"},
          std::pair{true,
                    "SELECT CAST(id AS TEXT), api_key_sealed FROM sync_jobs "
                    "WHERE api_key_sealed IS NOT NULL"}}) {
      auto stmt = conn.Prepare(sql);
      if (!stmt) return tl::unexpected(stmt.error());
      for (;;) {
        auto row = stmt->Step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        rows.push_back({job, stmt->Text(0), stmt->Blob(1)});
      }
    }
    auto plan = PlanReseal(std::move(rows), reseal);
    if (!plan) return tl::unexpected(plan.error());
    for (const auto& [row, sealed] : plan->updates) {
      auto stmt = conn.Prepare(
          row.job ? "UPDATE sync_jobs SET api_key_sealed = ? WHERE id = CAST(? AS INTEGER)"
                  : "UPDATE vapi_keys SET sealed = ? WHERE owner = ?");
      if (!stmt) return tl::unexpected(stmt.error());
      stmt->BindBlob(1, sealed);
      stmt->Bind(2, std::string_view(row.id));
      if (auto r = stmt->Run(); !r) return tl::unexpected(r.error());
    }
    if (auto r = AppendAudit(conn, audit(plan->counts)); !r) return tl::unexpected(r.error());
    return plan->counts;
  });
}

}  // namespace assistantd::storage
