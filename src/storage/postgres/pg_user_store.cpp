#include "storage/postgres/pg_user_store.hpp"

#include "storage/postgres/pg_assistant_store.hpp"

namespace assistantd::storage {
namespace {

constexpr const char* kColumns =
    "id::text, email, role, assistantd_us(created_at), assistantd_us(updated_at)";

domain::User ReadUser(const PgResult& r, int row) {
  domain::User u;
  u.id = r.Text(row, 0);
  u.email = r.OptionalText(row, 1);
  u.role = domain::ParseRole(r.Text(row, 2)).value_or(domain::Role::kUser);
  u.created_at_us = r.Int(row, 3);
  u.updated_at_us = r.Int(row, 4);
  return u;
}

}  // namespace

Result<void> PgUserStore::EnsureUser(const domain::User& user) {
  auto conn = db_.Acquire();
  auto tx = PgTransaction::Begin(*conn, UserClaims(user.id, "authenticated"));
  if (!tx) return tl::unexpected(tx.error());
  auto r = conn->Exec(
      "INSERT INTO users (id, email, role, created_at, updated_at) VALUES ($1::uuid, $2, $3, "
      "assistantd_ts($4), assistantd_ts($5)) ON CONFLICT (id) DO NOTHING",
      {user.id, user.email, std::string(ToString(user.role)), std::to_string(user.created_at_us),
       std::to_string(user.updated_at_us)});
  if (!r) return tl::unexpected(r.error());
  return tx->Commit();
}

Result<std::optional<domain::User>> PgUserStore::GetUser(const std::string& id) {
  auto r = db_.Query(ServiceClaims(),
                     std::string("SELECT ") + kColumns + " FROM users WHERE id = $1::uuid", {id});
  if (!r) return tl::unexpected(r.error());
  if (r->Rows() == 0) return std::optional<domain::User>();
  return std::optional<domain::User>(ReadUser(*r, 0));
}

Result<UserPage> PgUserStore::ListUsers(const std::optional<domain::ListCursor>& after, int limit) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM users";
  PgParams params;
  if (after) {
    sql += " WHERE (created_at, id) < (assistantd_ts($1), $2::uuid)";
    params = {std::to_string(after->created_at_us), after->id};
  }
  params.emplace_back(std::to_string(limit + 1));
  sql += " ORDER BY created_at DESC, id DESC LIMIT $" + std::to_string(params.size());
  auto conn = db_.Acquire();
  auto tx = PgTransaction::Begin(*conn, ServiceClaims());
  if (!tx) return tl::unexpected(tx.error());
  auto r = conn->Exec(sql, params);
  if (!r) return tl::unexpected(r.error());
  if (auto c = tx->Commit(); !c) return tl::unexpected(c.error());
  UserPage page;
  for (int row = 0; row < r->Rows(); ++row) page.items.push_back(ReadUser(*r, row));
  page.next = domain::TrimToPage(page.items, limit);
  return page;
}

Result<bool> PgUserStore::DeleteUser(const std::string& id, int64_t now_us) {
  return RetryTransient([&]() -> Result<bool> {
    auto conn = db_.Acquire();
    auto tx = PgTransaction::Begin(*conn, ServiceClaims());
    if (!tx) return tl::unexpected(tx.error());
    // The user's stored key rides with the jobs deleting their remote assistants (see the
    // SQLite store); the cascade removes the rows.
    auto key = conn->Exec("SELECT sealed FROM vapi_keys WHERE owner = $1", {id});
    if (!key) return tl::unexpected(key.error());
    const std::optional<std::string> own_key =
        key->Rows() > 0 ? std::optional<std::string>(key->Bytes(0, 0)) : std::nullopt;
    auto owned = conn->Exec(
        "SELECT id::text, vapi_id FROM assistants WHERE user_id = $1::uuid FOR UPDATE", {id});
    if (!owned) return tl::unexpected(owned.error());
    for (int row = 0; row < owned->Rows(); ++row) {
      if (auto r = PgEnqueueSync(*conn, owned->Text(row, 0), id, owned->OptionalText(row, 1),
                                 now_us, own_key);
          !r) {
        return tl::unexpected(r.error());
      }
    }
    if (auto r = conn->Exec("DELETE FROM vapi_keys WHERE owner = $1", {id}); !r) {
      return tl::unexpected(r.error());
    }
    auto deleted = conn->Exec("DELETE FROM users WHERE id = $1::uuid", {id});
    if (!deleted) return tl::unexpected(deleted.error());
    if (auto c = tx->Commit(); !c) return tl::unexpected(c.error());
    return deleted->Affected() > 0;
  });
}

}  // namespace assistantd::storage
