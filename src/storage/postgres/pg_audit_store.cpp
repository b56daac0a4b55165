#include "storage/postgres/pg_audit_store.hpp"

#include "storage/audit_sql.hpp"
#include "storage/json_columns.hpp"

namespace assistantd::storage {
namespace {

constexpr const char* kColumns =
    "seq, assistantd_us(at), actor_id::text, actor_role, action, target_type, target_id, "
    "subject_user_id::text, request_id, ip, before, after, prev_hash, hash";

// Any constant distinct from the other advisory locks: appends queue on it until commit.
constexpr const char* kAppendLock = "SELECT pg_advisory_xact_lock(7461636974)";

domain::AuditEntry ReadEntry(const PgResult& r, int row) {
  domain::AuditEntry e;
  e.seq = r.Int(row, 0);
  e.at_us = r.Int(row, 1);
  e.actor_id = r.OptionalText(row, 2);
  e.actor_role = r.Text(row, 3);
  e.action = r.Text(row, 4);
  e.target_type = r.Text(row, 5);
  e.target_id = r.OptionalText(row, 6);
  e.subject_user_id = r.OptionalText(row, 7);
  e.request_id = r.Text(row, 8);
  e.ip = r.Text(row, 9);
  e.before = NullableJsonColumn(r.OptionalText(row, 10));
  e.after = NullableJsonColumn(r.OptionalText(row, 11));
  e.prev_hash = r.Text(row, 12);
  e.hash = r.Text(row, 13);
  return e;
}

std::vector<domain::AuditEntry> ReadAll(const PgResult& r) {
  std::vector<domain::AuditEntry> out;
  for (int row = 0; row < r.Rows(); ++row) out.push_back(ReadEntry(r, row));
  return out;
}

}  // namespace

Result<domain::AuditEntry> PgAuditStore::Append(domain::AuditEntry entry) {
  return RetryTransient([&]() -> Result<domain::AuditEntry> {
    domain::AuditEntry e = entry;
    auto conn = db_.Acquire();
    // Asynchronous commit, as for other bookkeeping: the entry follows a change that already
    // committed durably, and the append lock is held for less time.
    auto tx = PgTransaction::Begin(*conn, ServiceClaims(), /*relaxed=*/true);
    if (!tx) return tl::unexpected(tx.error());
    if (auto lock = conn->Exec(kAppendLock); !lock) return tl::unexpected(lock.error());
    auto last = conn->Exec("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    if (!last) return tl::unexpected(last.error());
    e.seq = last->Rows() > 0 ? last->Int(0, 0) + 1 : 1;
    e.prev_hash = last->Rows() > 0 ? last->Text(0, 1) : domain::kAuditGenesisHash;
    e.hash = domain::AuditHash(e);
    auto r = conn->Exec(
        std::string("INSERT INTO audit_log (seq, at, actor_id, actor_role, action, target_type, "
                    "target_id, subject_user_id, request_id, ip, before, after, prev_hash, hash) "
                    "VALUES ($1, assistantd_ts($2), $3::uuid, $4, $5, $6, $7, $8::uuid, $9, $10, "
                    "$11, $12, $13, $14)"),
        {std::to_string(e.seq), std::to_string(e.at_us), e.actor_id, e.actor_role, e.action,
         e.target_type, e.target_id, e.subject_user_id, e.request_id, e.ip, NullableJsonText(e.before),
         NullableJsonText(e.after), e.prev_hash, e.hash});
    if (!r) return tl::unexpected(r.error());
    if (auto c = tx->Commit(); !c) return tl::unexpected(c.error());
    return e;
  });
}

Result<std::vector<domain::AuditEntry>> PgAuditStore::QueryAudit(const AuditQuery& q) {
  const auto dollar = [](int n) { return "$" + std::to_string(n); };
  const AuditSql sql = BuildAuditQuery(
      q, {dollar, [&](int n) { return dollar(n) + "::bigint"; },
          [&](int n) { return "assistantd_ts(" + dollar(n) + "::bigint)"; },
          [&](int n) { return dollar(n) + "::uuid"; }});
  PgParams params(sql.values.begin(), sql.values.end());
  // Admins see everything; a user's own query runs with their claims (RLS filters too).
  const auto claims = q.subject_or_actor ? UserClaims(*q.subject_or_actor, "authenticated")
                                         : ServiceClaims();
  auto r = db_.Query(claims, std::string("SELECT ") + kColumns + " FROM audit_log" + sql.tail,
                     params);
  if (!r) return tl::unexpected(r.error());
  return ReadAll(*r);
}

Result<std::vector<domain::AuditEntry>> PgAuditStore::ScanAudit(int64_t after_seq, int limit) {
  auto r = db_.Query(ServiceClaims(),
                     std::string("SELECT ") + kColumns +
                         " FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                     {std::to_string(after_seq), std::to_string(limit)});
  if (!r) return tl::unexpected(r.error());
  return ReadAll(*r);
}

}  // namespace assistantd::storage
