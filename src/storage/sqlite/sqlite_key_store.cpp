#include "storage/sqlite/sqlite_key_store.hpp"

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

}  // namespace assistantd::storage
