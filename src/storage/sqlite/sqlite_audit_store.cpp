#include "storage/sqlite/sqlite_audit_store.hpp"

#include "storage/audit_sql.hpp"
#include "storage/json_columns.hpp"
#include "storage/rows.hpp"

namespace assistantd::storage {
namespace {

constexpr const char* kColumns =
    "seq, at, actor_id, actor_role, action, target_type, target_id, subject_user_id, "
    "request_id, ip, before, after, prev_hash, hash";

Result<std::vector<domain::AuditEntry>> ReadAll(SqliteStatement& stmt) {
  std::vector<domain::AuditEntry> out;
  for (;;) {
    auto row = stmt.Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    out.push_back(ReadAuditEntry(SqliteRow{stmt}));
  }
  return out;
}

}  // namespace

Result<void> AppendAudit(SqliteConnection& conn, const ChangeAudit& audit) {
  if (!audit) return {};
  domain::AuditEntry entry = *audit;
  return AppendAudit(conn, entry);
}

Result<void> AppendAudit(SqliteConnection& conn, domain::AuditEntry& e) {
  {
    // Called inside a write transaction: the writer lock keeps the last entry the last one.
    auto last = conn.Prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    if (!last) return tl::unexpected(last.error());
    auto row = last->Step();
    if (!row) return tl::unexpected(row.error());
    e.seq = *row ? last->Int(0) + 1 : 1;
    e.prev_hash = *row ? last->Text(1) : domain::kAuditGenesisHash;
  }
  e.hash = domain::AuditHash(e);
  auto stmt = conn.Prepare(std::string("INSERT INTO audit_log (") + kColumns +
                           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!stmt) return tl::unexpected(stmt.error());
  int i = 1;
  stmt->Bind(i++, e.seq);
  stmt->Bind(i++, e.at_us);
  stmt->Bind(i++, e.actor_id);
  stmt->Bind(i++, std::string_view(e.actor_role));
  stmt->Bind(i++, std::string_view(e.action));
  stmt->Bind(i++, std::string_view(e.target_type));
  stmt->Bind(i++, e.target_id);
  stmt->Bind(i++, e.subject_user_id);
  stmt->Bind(i++, std::string_view(e.request_id));
  stmt->Bind(i++, std::string_view(e.ip));
  stmt->Bind(i++, NullableJsonText(e.before));
  stmt->Bind(i++, NullableJsonText(e.after));
  stmt->Bind(i++, std::string_view(e.prev_hash));
  stmt->Bind(i++, std::string_view(e.hash));
  return stmt->Run();
}

Result<domain::AuditEntry> SqliteAuditStore::Append(domain::AuditEntry entry) {
  return AwaitWrite<domain::AuditEntry>([&](auto done) {
    db_.SubmitValue<domain::AuditEntry>(
        [e = std::move(entry)](SqliteConnection& conn) mutable -> Result<domain::AuditEntry> {
          if (auto r = AppendAudit(conn, e); !r) return tl::unexpected(r.error());
          return e;
        },
        std::move(done));
  });
}

Result<std::vector<domain::AuditEntry>> SqliteAuditStore::QueryAudit(const AuditQuery& q) {
  const auto text = [](int) { return std::string("?"); };
  const auto integer = [](int) { return std::string("CAST(? AS INTEGER)"); };
  const AuditSql sql = BuildAuditQuery(q, {text, integer, integer, text});
  auto conn = db_.Acquire();
  auto stmt = conn->Prepare(std::string("SELECT ") + kColumns + " FROM audit_log" + sql.tail);
  if (!stmt) return tl::unexpected(stmt.error());
  for (size_t v = 0; v < sql.values.size(); ++v) {
    stmt->Bind(static_cast<int>(v + 1), std::string_view(sql.values[v]));
  }
  return ReadAll(*stmt);
}

Result<std::vector<domain::AuditEntry>> SqliteAuditStore::ScanAudit(int64_t after_seq, int limit) {
  auto conn = db_.Acquire();
  auto stmt = conn->Prepare(std::string("SELECT ") + kColumns +
                            " FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, after_seq);
  stmt->Bind(2, int64_t{limit});
  return ReadAll(*stmt);
}

}  // namespace assistantd::storage
