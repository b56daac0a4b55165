#include "storage/postgres/pg_user_store.hpp"

#include "storage/json_columns.hpp"
#include "storage/postgres/pg_assistant_store.hpp"
#include "storage/postgres/pg_audit_store.hpp"
#include "storage/refresh_rotation.hpp"
#include "storage/rows.hpp"
#include "storage/user_deletion.hpp"

namespace assistantd::storage {
namespace {

constexpr const char* kColumns =
    "id::text, email, role, assistantd_us(created_at), assistantd_us(updated_at), "
    "password_hash, assistantd_us(email_confirmed_at), assistantd_us(last_sign_in_at), "
    "assistantd_us(banned_until), user_metadata::text, app_metadata::text, display_name, "
    "preferences::text";

std::optional<std::string> OptionalNumber(const std::optional<int64_t>& v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

// Parameters $2..$13 in kColumns order after id.
void AppendUserParams(PgParams& params, const domain::User& u) {
  params.emplace_back(u.email);
  params.emplace_back(std::string(ToString(u.role)));
  params.emplace_back(std::to_string(u.created_at_us));
  params.emplace_back(std::to_string(u.updated_at_us));
  params.emplace_back(u.password_hash);
  params.emplace_back(OptionalNumber(u.email_confirmed_at_us));
  params.emplace_back(OptionalNumber(u.last_sign_in_at_us));
  params.emplace_back(OptionalNumber(u.banned_until_us));
  params.emplace_back(u.user_metadata.dump());
  params.emplace_back(u.app_metadata.dump());
  params.emplace_back(u.display_name);
  params.emplace_back(u.preferences.dump());
}

constexpr const char* kSessionColumns =
    "id::text, user_id::text, assistantd_us(signed_in_at), assistantd_us(created_at), "
    "assistantd_us(refreshed_at)";

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
  return std::optional<domain::User>(ReadUser(PgRow{*r, 0}));
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
  for (int row = 0; row < r->Rows(); ++row) page.items.push_back(ReadUser(PgRow{*r, row}));
  page.next = domain::TrimToPage(page.items, limit);
  return page;
}

Result<NumberedUserPage> PgUserStore::ListUsersNumbered(int64_t offset, int limit) {
  auto conn = db_.Acquire();
  auto tx = PgTransaction::Begin(*conn, ServiceClaims());
  if (!tx) return tl::unexpected(tx.error());
  // count(*) OVER () gives the total beside every row of the page, in one snapshot.
  auto r = conn->Exec(std::string("SELECT ") + kColumns +
                          ", count(*) OVER () FROM users"
                          " ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2",
                      {std::to_string(limit), std::to_string(offset)});
  if (!r) return tl::unexpected(r.error());
  NumberedUserPage page;
  for (int row = 0; row < r->Rows(); ++row) page.items.push_back(ReadUser(PgRow{*r, row}));
  if (r->Rows() > 0) {
    page.total = r->Int(0, r->Columns() - 1);
  } else {
    auto count = conn->Exec("SELECT count(*) FROM users", {});
    if (!count) return tl::unexpected(count.error());
    page.total = count->Int(0, 0);
  }
  if (auto c = tx->Commit(); !c) return tl::unexpected(c.error());
  return page;
}

namespace {

class PgUserDeletionSteps final : public UserDeletionSteps {
 public:
  explicit PgUserDeletionSteps(PgConnection& conn) : conn_(conn) {}

  Result<std::optional<std::string>> OwnKey(const std::string& user_id) override {
    auto r = conn_.Exec("SELECT sealed FROM vapi_keys WHERE owner = $1", {user_id});
    if (!r) return tl::unexpected(r.error());
    return r->Rows() > 0 ? std::optional<std::string>(r->Bytes(0, 0)) : std::nullopt;
  }
  Result<Owned> OwnedAssistants(const std::string& user_id) override {
    auto r = conn_.Exec(
        "SELECT id::text, vapi_id FROM assistants WHERE user_id = $1::uuid FOR UPDATE", {user_id});
    if (!r) return tl::unexpected(r.error());
    Owned owned;
    for (int row = 0; row < r->Rows(); ++row) {
      owned.emplace_back(r->Text(row, 0), r->OptionalText(row, 1));
    }
    return owned;
  }
  Result<void> QueueRemoteDeletion(const std::string& assistant_id, const std::string& user_id,
                                   const std::optional<std::string>& vapi_id, int64_t now_us,
                                   const std::optional<std::string>& key) override {
    return PgEnqueueSync(conn_, assistant_id, user_id, vapi_id, now_us, key);
  }
  Result<void> DeleteKey(const std::string& owner) override {
    conn_.Defer("DELETE FROM vapi_keys WHERE owner = $1", {owner});
    return {};
  }
  Result<bool> DeleteUserRow(const std::string& user_id) override {
    auto r = conn_.Exec("DELETE FROM users WHERE id = $1::uuid", {user_id});
    if (!r) return tl::unexpected(r.error());
    return r->Affected() > 0;
  }
  Result<void> Audit(const ChangeAudit& audit) override { return PgAppendUnsealed(conn_, audit); }

 private:
  PgConnection& conn_;
};

}  // namespace

Result<bool> PgUserStore::DeleteUser(const std::string& id, int64_t now_us,
                                     const ChangeAudit& audit) {
  return RetryTransient([&] {
    return db_.Write<bool>([&](PgConnection& conn) -> Result<bool> {
      if (auto r = conn.SetClaims(ServiceClaims()); !r) return tl::unexpected(r.error());
      PgUserDeletionSteps steps(conn);
      return DeleteUserWith(steps, id, now_us, audit);
    });
  });
}

namespace {

// A session's rows, the user's sign-in time and its audit entry, in the caller's write: sent
// as one pipeline with the batch's RELEASE, since nothing here needs an answer.
Result<void> InsertSession(PgConnection& conn, const NewSession& n) {
  const AuthSession& s = n.session;
  conn.Defer(
      "INSERT INTO auth_sessions (id, user_id, signed_in_at, created_at, refreshed_at) "
      "VALUES ($1::uuid, $2::uuid, assistantd_ts($3), assistantd_ts($4), assistantd_ts($5))",
      {s.id, s.user_id, std::to_string(s.signed_in_at_us), std::to_string(s.created_at_us),
       std::to_string(s.refreshed_at_us)});
  conn.Defer(
      "INSERT INTO refresh_tokens (token_hash, session_id, created_at) "
      "VALUES ($1, $2::uuid, assistantd_ts($3))",
      {n.token_hash, s.id, std::to_string(s.created_at_us)});
  conn.Defer("UPDATE users SET last_sign_in_at = assistantd_ts($2) WHERE id = $1::uuid",
             {s.user_id, std::to_string(s.signed_in_at_us)});
  return PgAppendUnsealed(conn, n.audit);
}

}  // namespace

Result<void> PgUserStore::CreateAccount(const domain::User& user, const ChangeAudit& audit,
                                        const std::optional<NewSession>& first_session) {
  PgParams params = {user.id};
  AppendUserParams(params, user);
  auto r = db_.Write<bool>([&](PgConnection& conn) -> Result<bool> {
    if (auto c = conn.SetClaims(ServiceClaims()); !c) return tl::unexpected(c.error());
    auto inserted = conn.Exec(
        std::string("INSERT INTO users (id, email, role, created_at, updated_at, password_hash, "
                    "email_confirmed_at, last_sign_in_at, banned_until, user_metadata, "
                    "app_metadata, display_name, preferences) VALUES ($1::uuid, $2, $3, "
                    "assistantd_ts($4), assistantd_ts($5), $6, assistantd_ts($7), "
                    "assistantd_ts($8), assistantd_ts($9), $10::jsonb, $11::jsonb, $12, "
                    "$13::jsonb)"),
        params);
    if (!inserted) return tl::unexpected(inserted.error());
    if (auto a = PgAppendUnsealed(conn, audit); !a) return tl::unexpected(a.error());
    if (first_session) {
      if (auto a = InsertSession(conn, *first_session); !a) return tl::unexpected(a.error());
    }
    return true;
  });
  if (!r)
    return tl::unexpected(
        RenameConflict(r.error(), "user_already_exists", "User already registered"));
  return {};
}

Result<std::optional<domain::User>> PgUserStore::FindAccountByEmail(const std::string& email) {
  auto r = db_.Query(ServiceClaims(),
                     std::string("SELECT ") + kColumns +
                         " FROM users WHERE email = $1 AND password_hash IS NOT NULL",
                     {email});
  if (!r) return tl::unexpected(r.error());
  if (r->Rows() == 0) return std::optional<domain::User>();
  return std::optional<domain::User>(ReadUser(PgRow{*r, 0}));
}

Result<bool> PgUserStore::UpdateUser(const domain::User& user, const ChangeAudit& audit) {
  PgParams params = {user.id};
  AppendUserParams(params, user);
  auto r = db_.Write<bool>([&](PgConnection& conn) -> Result<bool> {
    if (auto c = conn.SetClaims(ServiceClaims()); !c) return tl::unexpected(c.error());
    auto updated = conn.Exec(
        "UPDATE users SET email = $2, role = $3, created_at = assistantd_ts($4), "
        "updated_at = assistantd_ts($5), password_hash = $6, "
        "email_confirmed_at = assistantd_ts($7), last_sign_in_at = assistantd_ts($8), "
        "banned_until = assistantd_ts($9), user_metadata = $10::jsonb, app_metadata = $11::jsonb, "
        "display_name = $12, preferences = $13::jsonb WHERE id = $1::uuid",
        params);
    if (!updated) return tl::unexpected(updated.error());
    if (updated->Affected() == 0) return false;
    if (auto a = PgAppendUnsealed(conn, audit); !a) return tl::unexpected(a.error());
    return true;
  });
  if (!r) {
    return tl::unexpected(RenameConflict(
        r.error(), "email_exists", "A user with this email address has already been registered"));
  }
  return *r;
}

Result<void> PgUserStore::CreateSession(const NewSession& session) {
  return RetryTransient([&] {
           return db_.Write<bool>([&](PgConnection& conn) -> Result<bool> {
             if (auto r = conn.SetClaims(UserClaims(session.session.user_id, "authenticated"));
                 !r) {
               return tl::unexpected(r.error());
             }
             if (auto r = InsertSession(conn, session); !r) return tl::unexpected(r.error());
             return true;
           });
         })
      .map([](bool) {});
}

Result<std::optional<AuthSession>> PgUserStore::GetSession(const std::string& id) {
  auto r = db_.Query(
      ServiceClaims(),
      std::string("SELECT ") + kSessionColumns + " FROM auth_sessions WHERE id = $1::uuid", {id});
  if (!r) return tl::unexpected(r.error());
  if (r->Rows() == 0) return std::optional<AuthSession>();
  return std::optional<AuthSession>(ReadSession(PgRow{*r, 0}));
}

namespace {

class PgRefreshSteps final : public RefreshRotationSteps {
 public:
  explicit PgRefreshSteps(PgConnection& conn) : conn_(conn) {}

  Result<std::optional<RefreshTokenState>> Find(const std::string& token_hash) override {
    // The row lock makes concurrent uses of one token take turns.
    auto r = conn_.Exec(
        "SELECT session_id::text, assistantd_us(revoked_at) FROM refresh_tokens "
        "WHERE token_hash = $1 FOR UPDATE",
        {token_hash});
    if (!r) return tl::unexpected(r.error());
    if (r->Rows() == 0) return std::optional<RefreshTokenState>();
    const PgRow row{*r, 0};
    return std::optional<RefreshTokenState>(RefreshTokenState{row.Text(0), row.OptionalInt(1)});
  }
  Result<bool> HasLiveChild(const std::string& token_hash) override {
    auto r = conn_.Exec(
        "SELECT 1 FROM refresh_tokens WHERE parent_hash = $1 AND revoked_at IS NULL", {token_hash});
    if (!r) return tl::unexpected(r.error());
    return r->Rows() > 0;
  }
  Result<void> EndSession(const std::string& session_id) override {
    return WithoutRows(conn_.Exec("DELETE FROM auth_sessions WHERE id = $1::uuid", {session_id}));
  }
  Result<void> Revoke(const std::string& token_hash, int64_t now_us) override {
    return WithoutRows(
        conn_.Exec("UPDATE refresh_tokens SET revoked_at = assistantd_ts($2) WHERE token_hash = $1",
                   {token_hash, std::to_string(now_us)}));
  }
  Result<void> Issue(const std::string& token_hash, const std::string& session_id,
                     const std::string& parent_hash, int64_t now_us) override {
    return WithoutRows(
        conn_.Exec("INSERT INTO refresh_tokens (token_hash, session_id, parent_hash, created_at) "
                   "VALUES ($1, $2::uuid, $3, assistantd_ts($4))",
                   {token_hash, session_id, parent_hash, std::to_string(now_us)}));
  }
  Result<std::optional<AuthSession>> Touch(const std::string& session_id, int64_t now_us) override {
    auto r = conn_.Exec(std::string("UPDATE auth_sessions SET refreshed_at = assistantd_ts($2) "
                                    "WHERE id = $1::uuid RETURNING ") +
                            kSessionColumns,
                        {session_id, std::to_string(now_us)});
    if (!r) return tl::unexpected(r.error());
    if (r->Rows() == 0) return std::optional<AuthSession>();
    return std::optional<AuthSession>(ReadSession(PgRow{*r, 0}));
  }

 private:
  PgConnection& conn_;
};

}  // namespace

Result<RefreshOutcome> PgUserStore::RefreshSession(const std::string& token_hash,
                                                   const std::string& new_token_hash,
                                                   int64_t now_us, int64_t reuse_interval_us,
                                                   const ChangeAudit& on_reuse) {
  return RetryTransient([&] {
    return db_.Write<RefreshOutcome>([&](PgConnection& conn) -> Result<RefreshOutcome> {
      // The caller is not known until the token is found: the service's claims.
      if (auto c = conn.SetClaims(ServiceClaims()); !c) return tl::unexpected(c.error());
      PgRefreshSteps steps(conn);
      auto out = RotateRefreshToken(steps, token_hash, new_token_hash, now_us, reuse_interval_us);
      if (out && out->kind == RefreshOutcome::Kind::kReused) {
        if (auto r = PgAppendUnsealed(conn, on_reuse); !r) return tl::unexpected(r.error());
      }
      return out;
    });
  });
}

Result<std::optional<std::string>> PgUserStore::RefreshTokenOwner(const std::string& token_hash) {
  auto r = db_.Query(ServiceClaims(),
                     "SELECT s.user_id::text FROM refresh_tokens t JOIN auth_sessions s "
                     "ON s.id = t.session_id WHERE t.token_hash = $1",
                     {token_hash});
  if (!r) return tl::unexpected(r.error());
  if (r->Rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(r->Text(0, 0));
}

Result<int> PgUserStore::EndSessions(const std::string& user_id, SessionScope scope,
                                     const std::string& session_id, const ChangeAudit& audit) {
  std::string sql = "DELETE FROM auth_sessions WHERE user_id = $1::uuid";
  PgParams params = {user_id};
  if (scope != SessionScope::kAll) {
    sql += scope == SessionScope::kOnly ? " AND id = $2::uuid" : " AND id <> $2::uuid";
    params.emplace_back(session_id);
  }
  return db_.Write<int>([&](PgConnection& conn) -> Result<int> {
    if (auto c = conn.SetClaims(UserClaims(user_id, "authenticated")); !c) {
      return tl::unexpected(c.error());
    }
    auto ended = conn.Exec(sql, params);
    if (!ended) return tl::unexpected(ended.error());
    if (auto a = PgAppendUnsealed(conn, audit); !a) return tl::unexpected(a.error());
    return static_cast<int>(ended->Affected());
  });
}

}  // namespace assistantd::storage
