#include "storage/postgres/pg_audit_store.hpp"

#include "common/thread_name.hpp"
#include "storage/audit_sql.hpp"
#include "storage/json_columns.hpp"
#include "storage/rows.hpp"

namespace assistantd::storage {
namespace {

constexpr const char* kColumns =
    "seq, assistantd_us(at), actor_id::text, actor_role, action, target_type, target_id, "
    "subject_user_id::text, request_id, ip, before, after, prev_hash, hash";

// Any constant distinct from the other advisory locks: sealers queue on it until commit.
constexpr const char* kAppendLock = "SELECT pg_advisory_xact_lock(7461636974)";

// The entry in kColumns order starting at column `first` (seq and the hashes may be NULL:
// unsealed).
std::vector<domain::AuditEntry> ReadAll(const PgResult& r) {
  std::vector<domain::AuditEntry> out;
  for (int row = 0; row < r.Rows(); ++row) out.push_back(ReadAuditEntry(PgRow{r, row}));
  return out;
}

}  // namespace

Result<void> PgAppendUnsealed(PgConnection& conn, const domain::AuditEntry& e) {
  conn.Defer(
      "INSERT INTO audit_log (at, actor_id, actor_role, action, target_type, target_id, "
      "subject_user_id, request_id, ip, before, after) VALUES (assistantd_ts($1), $2::uuid, $3, "
      "$4, $5, $6, $7::uuid, $8, $9, $10, $11)",
      {std::to_string(e.at_us), e.actor_id, e.actor_role, e.action, e.target_type, e.target_id,
       e.subject_user_id, e.request_id, e.ip, NullableJsonText(e.before),
       NullableJsonText(e.after)});
  return {};
}

Result<void> PgAppendUnsealed(PgConnection& conn, const ChangeAudit& audit) {
  if (!audit) return {};
  return PgAppendUnsealed(conn, *audit);
}

PgAuditStore::~PgAuditStore() {
  stop_ = true;
  if (sealer_.joinable()) sealer_.join();
}

Result<domain::AuditEntry> PgAuditStore::Append(domain::AuditEntry entry) {
  auto written =
      db_.Write<domain::AuditEntry>([&](PgConnection& conn) -> Result<domain::AuditEntry> {
        if (auto r = conn.SetClaims(ServiceClaims()); !r) return tl::unexpected(r.error());
        if (auto r = PgAppendUnsealed(conn, entry); !r) return tl::unexpected(r.error());
        return entry;
      });
  if (!written) return written;
  if (auto sealed = Seal(); !sealed) return tl::unexpected(sealed.error());
  return written;
}

Result<int64_t> PgAuditStore::Seal() {
  constexpr int kPage = 500;
  int64_t total = 0;
  for (;;) {
    auto sealed = RetryTransient([&]() -> Result<int64_t> {
      auto conn = db_.Acquire();
      // Relaxed commit: a seal lost to a crash is made again, identically, from the same
      // committed entries, so it need not wait for the disk.
      auto tx = PgTransaction::Begin(*conn, ServiceClaims(), /*relaxed=*/true);
      if (!tx) return tl::unexpected(tx.error());
      if (auto lock = conn->Exec(kAppendLock); !lock) return tl::unexpected(lock.error());
      auto last = conn->Exec(
          "SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1");
      if (!last) return tl::unexpected(last.error());
      int64_t seq = last->Rows() > 0 ? last->Int(0, 0) : 0;
      std::string prev = last->Rows() > 0 ? last->Text(0, 1) : domain::kAuditGenesisHash;
      // Committed entries only (the lock is taken before this snapshot): in the order their
      // ids were drawn, which is insertion order within each writer.
      auto pending = conn->Exec(std::string("SELECT id, ") + kColumns +
                                    " FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT $1",
                                {std::to_string(kPage)});
      if (!pending) return tl::unexpected(pending.error());
      if (pending->Rows() == 0) return int64_t{0};
      std::string ids = "{", seqs = "{", prevs = "{", hashes = "{";
      for (int row = 0; row < pending->Rows(); ++row) {
        domain::AuditEntry e = ReadAuditEntry(PgRow{*pending, row}, 1);
        e.seq = ++seq;
        e.prev_hash = prev;
        e.hash = domain::AuditHash(e);
        prev = e.hash;
        const std::string sep = row ? "," : "";
        ids += sep + pending->Text(row, 0);
        seqs += sep + std::to_string(e.seq);
        prevs += sep + e.prev_hash;
        hashes += sep + e.hash;
      }
      auto update = conn->Exec(
          "UPDATE audit_log a SET seq = v.seq, prev_hash = v.prev, hash = v.hash FROM "
          "unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS v(id, seq, prev, hash) "
          "WHERE a.id = v.id",
          {ids + "}", seqs + "}", prevs + "}", hashes + "}"});
      if (!update) return tl::unexpected(update.error());
      if (auto c = tx->Commit(); !c) return tl::unexpected(c.error());
      return static_cast<int64_t>(pending->Rows());
    });
    if (!sealed) return sealed;
    total += *sealed;
    if (*sealed < kPage) return total;
  }
}

void PgAuditStore::StartSealer(Logger logger) {
  sealer_ = std::thread([this, logger = std::move(logger)] {
    NameThisThread("ad-audit-seal");
    // After each batch of writes, but at most every 50 ms: under load a seal then covers many
    // batches (its cost is mostly per transaction, not per entry).
    constexpr auto kMinInterval = std::chrono::milliseconds(50);
    uint64_t seen = db_.CommitGeneration();
    auto last = std::chrono::steady_clock::now() - kMinInterval;
    while (!stop_) {
      db_.WaitForCommit(seen, std::chrono::milliseconds(1000));
      const auto due = last + kMinInterval;
      if (std::chrono::steady_clock::now() < due) std::this_thread::sleep_until(due);
      seen = db_.CommitGeneration();
      last = std::chrono::steady_clock::now();
      if (stop_) break;
      if (auto r = Seal(); !r) {
        LogEvent(logger, spdlog::level::warn, "audit entries not sealed yet",
                 {{"reason", r.error().reason}, {"detail", r.error().internal}});
      }
    }
  });
}

Result<int64_t> PgAuditStore::UnsealedCount() {
  auto r = db_.Query(ServiceClaims(), "SELECT count(*) FROM audit_log WHERE seq IS NULL");
  if (!r) return tl::unexpected(r.error());
  return r->Int(0, 0);
}

Result<std::vector<domain::AuditEntry>> PgAuditStore::QueryAudit(const AuditQuery& q) {
  if (auto sealed = Seal(); !sealed) return tl::unexpected(sealed.error());
  const auto dollar = [](int n) { return "$" + std::to_string(n); };
  const AuditSql sql =
      BuildAuditQuery(q, {dollar, [&](int n) { return dollar(n) + "::bigint"; },
                          [&](int n) { return "assistantd_ts(" + dollar(n) + "::bigint)"; },
                          [&](int n) { return dollar(n) + "::uuid"; }});
  PgParams params(sql.values.begin(), sql.values.end());
  // Admins see everything; a user's own query runs with their claims (RLS filters too).
  const auto claims =
      q.subject_or_actor ? UserClaims(*q.subject_or_actor, "authenticated") : ServiceClaims();
  auto r =
      db_.Query(claims, std::string("SELECT ") + kColumns + " FROM audit_log" + sql.tail, params);
  if (!r) return tl::unexpected(r.error());
  return ReadAll(*r);
}

Result<std::vector<domain::AuditEntry>> PgAuditStore::ScanAudit(int64_t after_seq, int limit) {
  auto r = db_.Query(
      ServiceClaims(),
      std::string("SELECT ") + kColumns + " FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
      {std::to_string(after_seq), std::to_string(limit)});
  if (!r) return tl::unexpected(r.error());
  return ReadAll(*r);
}

}  // namespace assistantd::storage
