#include "storage/sqlite/sqlite_user_store.hpp"

#include "storage/sqlite/sqlite_sync_store.hpp"

namespace assistantd::storage {
namespace {

constexpr const char* kColumns = "id, email, role, created_at, updated_at";

domain::User ReadUser(const SqliteStatement& stmt) {
  domain::User u;
  u.id = stmt.Text(0);
  u.email = stmt.OptionalText(1);
  u.role = domain::ParseRole(stmt.Text(2)).value_or(domain::Role::kUser);
  u.created_at_us = stmt.Int(3);
  u.updated_at_us = stmt.Int(4);
  return u;
}

}  // namespace

Result<void> SqliteUserStore::EnsureUser(const domain::User& user) {
  auto conn = db_.Acquire();
  {
    // A read first: most calls find the user, and a read takes no write lock.
    auto stmt = conn->Prepare("SELECT 1 FROM users WHERE id = ?");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, std::string_view(user.id));
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (*row) return {};
  }
  auto tx = SqliteTransaction::Begin(db_, *conn);
  if (!tx) return tl::unexpected(tx.error());
  auto stmt = conn->Prepare(std::string("INSERT INTO users (") + kColumns +
                            ") VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, std::string_view(user.id));
  stmt->Bind(2, user.email);
  stmt->Bind(3, ToString(user.role));
  stmt->Bind(4, user.created_at_us);
  stmt->Bind(5, user.updated_at_us);
  if (auto r = stmt->Run(); !r) return r;
  return tx->Commit();
}

Result<std::optional<domain::User>> SqliteUserStore::GetUser(const std::string& id) {
  auto conn = db_.Acquire();
  auto stmt = conn->Prepare(std::string("SELECT ") + kColumns + " FROM users WHERE id = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, std::string_view(id));
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<domain::User>();
  return std::optional<domain::User>(ReadUser(*stmt));
}

Result<UserPage> SqliteUserStore::ListUsers(const std::optional<domain::ListCursor>& after,
                                            int limit) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM users";
  if (after) sql += " WHERE (created_at, id) < (?, ?)";
  sql += " ORDER BY created_at DESC, id DESC LIMIT ?";
  auto conn = db_.Acquire();
  auto stmt = conn->Prepare(sql);
  if (!stmt) return tl::unexpected(stmt.error());
  int i = 1;
  if (after) {
    stmt->Bind(i++, after->created_at_us);
    stmt->Bind(i++, std::string_view(after->id));
  }
  stmt->Bind(i, int64_t{limit} + 1);
  UserPage page;
  for (;;) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    page.items.push_back(ReadUser(*stmt));
  }
  page.next = domain::TrimToPage(page.items, limit);
  return page;
}

Result<bool> SqliteUserStore::DeleteUser(const std::string& id, int64_t now_us) {
  auto conn = db_.Acquire();
  auto tx = SqliteTransaction::Begin(db_, *conn);
  if (!tx) return tl::unexpected(tx.error());
  // The user's stored Vapi key goes with the user, but the remote deletions still need it:
  // each job carries it (sealed as stored), and it is erased when the job completes.
  std::optional<std::string> own_key;
  {
    auto key = conn->Prepare("SELECT sealed FROM vapi_keys WHERE owner = ?");
    if (!key) return tl::unexpected(key.error());
    key->Bind(1, std::string_view(id));
    auto row = key->Step();
    if (!row) return tl::unexpected(row.error());
    if (*row) own_key = key->Blob(0);
  }
  {
    // The cascade removes the rows; each assistant's job (carrying its remote id) removes the
    // remote copy.
    auto list = conn->Prepare("SELECT id, vapi_id FROM assistants WHERE user_id = ?");
    if (!list) return tl::unexpected(list.error());
    list->Bind(1, std::string_view(id));
    std::vector<std::pair<std::string, std::optional<std::string>>> owned;
    for (;;) {
      auto row = list->Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      owned.emplace_back(list->Text(0), list->OptionalText(1));
    }
    for (const auto& [assistant_id, vapi_id] : owned) {
      if (auto r = EnqueueSync(*conn, assistant_id, id, vapi_id, now_us, own_key); !r) {
        return tl::unexpected(r.error());
      }
    }
  }
  {
    auto key = conn->Prepare("DELETE FROM vapi_keys WHERE owner = ?");
    if (!key) return tl::unexpected(key.error());
    key->Bind(1, std::string_view(id));
    if (auto r = key->Run(); !r) return tl::unexpected(r.error());
  }
  auto stmt = conn->Prepare("DELETE FROM users WHERE id = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, std::string_view(id));
  if (auto r = stmt->Run(); !r) return tl::unexpected(r.error());
  const bool deleted = conn->Changes() > 0;
  if (auto r = tx->Commit(); !r) return tl::unexpected(r.error());
  return deleted;
}

}  // namespace assistantd::storage
