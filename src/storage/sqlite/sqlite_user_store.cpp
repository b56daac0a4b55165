#include "storage/sqlite/sqlite_user_store.hpp"

#include "storage/json_columns.hpp"
#include "storage/refresh_rotation.hpp"
#include "storage/rows.hpp"
#include "storage/sqlite/sqlite_audit_store.hpp"
#include "storage/sqlite/sqlite_sync_store.hpp"
#include "storage/user_deletion.hpp"

namespace assistantd::storage {
namespace {

constexpr const char* kColumns =
    "id, email, role, created_at, updated_at, password_hash, email_confirmed_at, "
    "last_sign_in_at, banned_until, user_metadata, app_metadata, display_name, preferences";

void BindOptional(SqliteStatement& stmt, int index, const std::optional<int64_t>& value) {
  if (value) {
    stmt.Bind(index, *value);
  } else {
    stmt.BindNull(index);
  }
}

// Binds every column of kColumns but id..updated_at's id, from index `i` (email first).
int BindUserColumns(SqliteStatement& stmt, int i, const domain::User& u) {
  stmt.Bind(i++, u.email);
  stmt.Bind(i++, ToString(u.role));
  stmt.Bind(i++, u.created_at_us);
  stmt.Bind(i++, u.updated_at_us);
  stmt.Bind(i++, u.password_hash);
  BindOptional(stmt, i++, u.email_confirmed_at_us);
  BindOptional(stmt, i++, u.last_sign_in_at_us);
  BindOptional(stmt, i++, u.banned_until_us);
  stmt.Bind(i++, std::string_view(u.user_metadata.dump()));
  stmt.Bind(i++, std::string_view(u.app_metadata.dump()));
  stmt.Bind(i++, u.display_name);
  stmt.Bind(i++, std::string_view(u.preferences.dump()));
  return i;
}

Result<void> Run(SqliteConnection& conn, const std::string& sql,
                 const std::vector<std::string>& binds) {
  auto stmt = conn.Prepare(sql);
  if (!stmt) return tl::unexpected(stmt.error());
  for (size_t b = 0; b < binds.size(); ++b) {
    stmt->Bind(static_cast<int>(b + 1), std::string_view(binds[b]));
  }
  return stmt->Run();
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
  auto stmt = conn->Prepare(
      "INSERT INTO users (id, email, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (id) DO NOTHING");
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
  return std::optional<domain::User>(ReadUser(SqliteRow{*stmt}));
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
    page.items.push_back(ReadUser(SqliteRow{*stmt}));
  }
  page.next = domain::TrimToPage(page.items, limit);
  return page;
}

Result<NumberedUserPage> SqliteUserStore::ListUsersNumbered(int64_t offset, int limit) {
  auto conn = db_.Acquire();
  // One read transaction (WAL snapshot): the count and the page see the same users.
  if (auto b = conn->Exec("BEGIN"); !b) return tl::unexpected(b.error());
  struct End {
    SqliteConnection& conn;
    ~End() { (void)conn.Exec("COMMIT"); }
  } end{*conn};
  NumberedUserPage page;
  {
    auto count = conn->Prepare("SELECT count(*) FROM users");
    if (!count) return tl::unexpected(count.error());
    auto row = count->Step();
    if (!row) return tl::unexpected(row.error());
    page.total = count->Int(0);
  }
  auto stmt = conn->Prepare(std::string("SELECT ") + kColumns +
                            " FROM users ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, int64_t{limit});
  stmt->Bind(2, offset);
  for (;;) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    page.items.push_back(ReadUser(SqliteRow{*stmt}));
  }
  return page;
}

namespace {

class SqliteUserDeletionSteps final : public UserDeletionSteps {
 public:
  explicit SqliteUserDeletionSteps(SqliteConnection& conn) : conn_(conn) {}

  Result<std::optional<std::string>> OwnKey(const std::string& user_id) override {
    auto stmt = conn_.Prepare("SELECT sealed FROM vapi_keys WHERE owner = ?");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, std::string_view(user_id));
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    return *row ? std::optional<std::string>(stmt->Blob(0)) : std::nullopt;
  }
  Result<Owned> OwnedAssistants(const std::string& user_id) override {
    auto stmt = conn_.Prepare("SELECT id, vapi_id FROM assistants WHERE user_id = ?");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, std::string_view(user_id));
    Owned owned;
    for (;;) {
      auto row = stmt->Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return owned;
      owned.emplace_back(stmt->Text(0), stmt->OptionalText(1));
    }
  }
  Result<void> QueueRemoteDeletion(const std::string& assistant_id, const std::string& user_id,
                                   const std::optional<std::string>& vapi_id, int64_t now_us,
                                   const std::optional<std::string>& key) override {
    return EnqueueSync(conn_, assistant_id, user_id, vapi_id, now_us, key);
  }
  Result<void> DeleteKey(const std::string& owner) override {
    return Run(conn_, "DELETE FROM vapi_keys WHERE owner = ?", {owner});
  }
  Result<bool> DeleteUserRow(const std::string& user_id) override {
    if (auto r = Run(conn_, "DELETE FROM users WHERE id = ?", {user_id}); !r) {
      return tl::unexpected(r.error());
    }
    return conn_.Changes() > 0;
  }
  Result<void> Audit(const ChangeAudit& audit) override { return AppendAudit(conn_, audit); }

 private:
  SqliteConnection& conn_;
};

}  // namespace

Result<bool> SqliteUserStore::DeleteUser(const std::string& id, int64_t now_us,
                                         const ChangeAudit& audit) {
  return db_.WriteValue<bool>([&](SqliteConnection& conn) {
    SqliteUserDeletionSteps steps(conn);
    return DeleteUserWith(steps, id, now_us, audit);
  });
}

namespace {

// A session's rows, the user's sign-in time and its audit entry, in the caller's write.
Result<void> InsertSession(SqliteConnection& conn, const NewSession& n) {
  const AuthSession& s = n.session;
  {
    auto stmt = conn.Prepare(
        "INSERT INTO auth_sessions (id, user_id, signed_in_at, created_at, refreshed_at) "
        "VALUES (?, ?, ?, ?, ?)");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, std::string_view(s.id));
    stmt->Bind(2, std::string_view(s.user_id));
    stmt->Bind(3, s.signed_in_at_us);
    stmt->Bind(4, s.created_at_us);
    stmt->Bind(5, s.refreshed_at_us);
    if (auto r = stmt->Run(); !r) return tl::unexpected(r.error());
  }
  {
    auto stmt = conn.Prepare(
        "INSERT INTO refresh_tokens (token_hash, session_id, parent_hash, revoked_at, created_at) "
        "VALUES (?, ?, NULL, NULL, ?)");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, std::string_view(n.token_hash));
    stmt->Bind(2, std::string_view(s.id));
    stmt->Bind(3, s.created_at_us);
    if (auto r = stmt->Run(); !r) return tl::unexpected(r.error());
  }
  {
    auto stmt = conn.Prepare("UPDATE users SET last_sign_in_at = ? WHERE id = ?");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, s.signed_in_at_us);
    stmt->Bind(2, std::string_view(s.user_id));
    if (auto r = stmt->Run(); !r) return tl::unexpected(r.error());
  }
  return AppendAudit(conn, n.audit);
}

}  // namespace

Result<void> SqliteUserStore::CreateSession(const NewSession& session) {
  return db_.Write([&](SqliteConnection& conn) { return InsertSession(conn, session); });
}

Result<void> SqliteUserStore::CreateAccount(const domain::User& user, const ChangeAudit& audit,
                                            const std::optional<NewSession>& first_session) {
  return db_.Write([&](SqliteConnection& conn) -> Result<void> {
    auto stmt = conn.Prepare(std::string("INSERT INTO users (") + kColumns +
                             ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, std::string_view(user.id));
    BindUserColumns(*stmt, 2, user);
    if (auto r = stmt->Run(); !r) {
      return tl::unexpected(
          RenameConflict(r.error(), "user_already_exists", "User already registered"));
    }
    if (auto r = AppendAudit(conn, audit); !r) return r;
    return first_session ? InsertSession(conn, *first_session) : Result<void>();
  });
}

Result<std::optional<domain::User>> SqliteUserStore::FindAccountByEmail(const std::string& email) {
  auto conn = db_.Acquire();
  auto stmt = conn->Prepare(std::string("SELECT ") + kColumns +
                            " FROM users WHERE email = ? AND password_hash IS NOT NULL");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, std::string_view(email));
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<domain::User>();
  return std::optional<domain::User>(ReadUser(SqliteRow{*stmt}));
}

Result<bool> SqliteUserStore::UpdateUser(const domain::User& user, const ChangeAudit& audit) {
  return db_.WriteValue<bool>([&](SqliteConnection& conn) -> Result<bool> {
    auto stmt = conn.Prepare(
        "UPDATE users SET email = ?, role = ?, created_at = ?, updated_at = ?, password_hash = ?, "
        "email_confirmed_at = ?, last_sign_in_at = ?, banned_until = ?, user_metadata = ?, "
        "app_metadata = ?, display_name = ?, preferences = ? WHERE id = ?");
    if (!stmt) return tl::unexpected(stmt.error());
    const int i = BindUserColumns(*stmt, 1, user);
    stmt->Bind(i, std::string_view(user.id));
    if (auto r = stmt->Run(); !r) {
      return tl::unexpected(RenameConflict(
          r.error(), "email_exists", "A user with this email address has already been registered"));
    }
    const bool updated = conn.Changes() > 0;
    if (updated) {
      if (auto r = AppendAudit(conn, audit); !r) return tl::unexpected(r.error());
    }
    return updated;
  });
}

namespace {

Result<std::optional<AuthSession>> FindSession(SqliteConnection& conn, const std::string& id) {
  auto stmt = conn.Prepare(
      "SELECT id, user_id, signed_in_at, created_at, refreshed_at FROM auth_sessions WHERE id = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, std::string_view(id));
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<AuthSession>();
  return std::optional<AuthSession>(ReadSession(SqliteRow{*stmt}));
}

}  // namespace

Result<std::optional<AuthSession>> SqliteUserStore::GetSession(const std::string& id) {
  auto conn = db_.Acquire();
  return FindSession(*conn, id);
}

namespace {

class SqliteRefreshSteps final : public RefreshRotationSteps {
 public:
  explicit SqliteRefreshSteps(SqliteConnection& conn) : conn_(conn) {}

  Result<std::optional<RefreshTokenState>> Find(const std::string& token_hash) override {
    auto stmt =
        conn_.Prepare("SELECT session_id, revoked_at FROM refresh_tokens WHERE token_hash = ?");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, std::string_view(token_hash));
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<RefreshTokenState>();
    const SqliteRow r{*stmt};
    return std::optional<RefreshTokenState>(RefreshTokenState{r.Text(0), r.OptionalInt(1)});
  }
  Result<bool> HasLiveChild(const std::string& token_hash) override {
    auto stmt =
        conn_.Prepare("SELECT 1 FROM refresh_tokens WHERE parent_hash = ? AND revoked_at IS NULL");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, std::string_view(token_hash));
    return stmt->Step();
  }
  Result<void> EndSession(const std::string& session_id) override {
    return Run(conn_, "DELETE FROM auth_sessions WHERE id = ?", {session_id});
  }
  Result<void> Revoke(const std::string& token_hash, int64_t now_us) override {
    auto stmt = conn_.Prepare("UPDATE refresh_tokens SET revoked_at = ? WHERE token_hash = ?");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, now_us);
    stmt->Bind(2, std::string_view(token_hash));
    return stmt->Run();
  }
  Result<void> Issue(const std::string& token_hash, const std::string& session_id,
                     const std::string& parent_hash, int64_t now_us) override {
    auto stmt = conn_.Prepare(
        "INSERT INTO refresh_tokens (token_hash, session_id, parent_hash, revoked_at, created_at) "
        "VALUES (?, ?, ?, NULL, ?)");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, std::string_view(token_hash));
    stmt->Bind(2, std::string_view(session_id));
    stmt->Bind(3, std::string_view(parent_hash));
    stmt->Bind(4, now_us);
    return stmt->Run();
  }
  Result<std::optional<AuthSession>> Touch(const std::string& session_id, int64_t now_us) override {
    auto stmt = conn_.Prepare("UPDATE auth_sessions SET refreshed_at = ? WHERE id = ?");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, now_us);
    stmt->Bind(2, std::string_view(session_id));
    if (auto r = stmt->Run(); !r) return tl::unexpected(r.error());
    return FindSession(conn_, session_id);
  }

 private:
  SqliteConnection& conn_;
};

}  // namespace

Result<RefreshOutcome> SqliteUserStore::RefreshSession(const std::string& token_hash,
                                                       const std::string& new_token_hash,
                                                       int64_t now_us, int64_t reuse_interval_us,
                                                       const ChangeAudit& on_reuse) {
  // In the group commit: the writer's turn orders concurrent uses of one token.
  return db_.WriteValue<RefreshOutcome>([&](SqliteConnection& conn) -> Result<RefreshOutcome> {
    SqliteRefreshSteps steps(conn);
    auto out = RotateRefreshToken(steps, token_hash, new_token_hash, now_us, reuse_interval_us);
    if (out && out->kind == RefreshOutcome::Kind::kReused) {
      if (auto r = AppendAudit(conn, on_reuse); !r) return tl::unexpected(r.error());
    }
    return out;
  });
}

Result<std::optional<std::string>> SqliteUserStore::RefreshTokenOwner(
    const std::string& token_hash) {
  auto conn = db_.Acquire();
  auto stmt = conn->Prepare(
      "SELECT s.user_id FROM refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id "
      "WHERE t.token_hash = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, std::string_view(token_hash));
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->Text(0));
}

Result<int> SqliteUserStore::EndSessions(const std::string& user_id, SessionScope scope,
                                         const std::string& session_id, const ChangeAudit& audit) {
  return db_.WriteValue<int>([&](SqliteConnection& conn) -> Result<int> {
    Result<void> r;
    switch (scope) {
      case SessionScope::kAll:
        r = Run(conn, "DELETE FROM auth_sessions WHERE user_id = ?", {user_id});
        break;
      case SessionScope::kOnly:
        r = Run(conn, "DELETE FROM auth_sessions WHERE user_id = ? AND id = ?",
                {user_id, session_id});
        break;
      case SessionScope::kOthers:
        r = Run(conn, "DELETE FROM auth_sessions WHERE user_id = ? AND id <> ?",
                {user_id, session_id});
        break;
    }
    if (!r) return tl::unexpected(r.error());
    const int ended = static_cast<int>(conn.Changes());
    if (auto a = AppendAudit(conn, audit); !a) return tl::unexpected(a.error());
    return ended;
  });
}

}  // namespace assistantd::storage
