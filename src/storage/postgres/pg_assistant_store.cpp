#include "storage/postgres/pg_assistant_store.hpp"

#include "domain/assistant_fields.hpp"
#include "storage/postgres/pg_audit_store.hpp"
#include "storage/rows.hpp"

namespace assistantd::storage {
namespace {

using domain::AssistantFields;
using domain::StorageType;

constexpr const char* kServerColumns =
    "is_test, vapi_id, sync_status, sync_error, assistantd_us(last_synced_at), version, "
    "assistantd_us(created_at), assistantd_us(updated_at)";

std::string Param(int n) { return "$" + std::to_string(n); }

std::optional<std::string> FieldParam(const domain::FieldSpec& spec, const nlohmann::json& fields) {
  const auto it = fields.find(spec.wire);
  if (it == fields.end() || it->is_null()) return std::nullopt;
  switch (spec.storage) {
    case StorageType::kText:
      return it->get<std::string>();
    case StorageType::kBoolean:
      return it->get<bool>() ? "true" : "false";
    case StorageType::kNumber:
    case StorageType::kJson:
      return it->dump();
  }
  return std::nullopt;
}

std::optional<std::string> OptionalInt(const std::optional<int64_t>& v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

// The client fields and the server columns up to `version`, in the order of the INSERT and
// UPDATE column lists.
void AppendMutableParams(PgParams& params, const domain::Assistant& a) {
  for (const auto& spec : AssistantFields()) params.push_back(FieldParam(spec, a.fields));
  params.emplace_back(a.IsTest() ? "true" : "false");
  params.push_back(a.vapi_id);
  params.emplace_back(std::string(ToString(a.sync_status)));
  params.push_back(a.sync_error);
  params.push_back(OptionalInt(a.last_synced_at_us));
  params.emplace_back(std::to_string(a.version));
}

// Appends the scope's conditions (rows being deleted are invisible to the API).
void AppendScope(std::string& sql, PgParams& params, const domain::AccessScope& scope) {
  sql += " AND sync_status <> 'deleting'";
  if (scope.owner_id) {
    params.push_back(*scope.owner_id);
    sql += " AND user_id = " + Param(static_cast<int>(params.size())) + "::uuid";
  }
  if (scope.test_only) sql += " AND is_test";
}

}  // namespace

nlohmann::json ClaimsFor(const domain::AccessScope& scope) {
  if (!scope.owner_id) return ServiceClaims();
  return UserClaims(*scope.owner_id, scope.test_only ? "test" : "authenticated");
}

Result<void> PgEnqueueSync(PgConnection& conn, const std::string& assistant_id,
                           const std::string& user_id, const std::optional<std::string>& vapi_id,
                           int64_t now_us, const std::optional<std::string>& job_key) {
  // One open job per assistant: a later write joins it (see EnqueueSync for SQLite).
  conn.Defer(
      "INSERT INTO sync_jobs (assistant_id, user_id, vapi_id, next_attempt_at, created_at, "
      "updated_at, api_key_sealed) VALUES ($1::uuid, $2::uuid, $3, assistantd_ts($4), "
      "assistantd_ts($4), assistantd_ts($4), $5::bytea) "
      "ON CONFLICT (assistant_id) WHERE state IN ('queued', 'running') DO UPDATE SET "
      "vapi_id = COALESCE(excluded.vapi_id, sync_jobs.vapi_id), updated_at = excluded.updated_at, "
      "api_key_sealed = COALESCE(excluded.api_key_sealed, sync_jobs.api_key_sealed)",
      {assistant_id, user_id, vapi_id, std::to_string(now_us),
       job_key ? std::optional<std::string>(PgBytea(*job_key)) : std::nullopt});
  return {};
}

PgAssistantStore::PgAssistantStore(PgDatabase& db) : db_(db) {
  std::string field_columns;
  std::string values;
  std::string assignments;
  int n = 3;
  for (const auto& spec : AssistantFields()) {
    field_columns += std::string(spec.column) + ", ";
    values += Param(n) + ", ";
    assignments += std::string(spec.column) + " = " + Param(n - 2) + ", ";
    ++n;
  }
  select_columns_ = "id::text, user_id::text, " + field_columns + kServerColumns;
  // After the fields: is_test, vapi_id, sync_status, sync_error, last_synced_at, version,
  // then created_at and updated_at.
  insert_sql_ = "INSERT INTO assistants (id, user_id, " + field_columns +
                "is_test, vapi_id, sync_status, sync_error, last_synced_at, version, created_at, "
                "updated_at) VALUES ($1::uuid, $2::uuid, " +
                values + Param(n) + ", " + Param(n + 1) + ", " + Param(n + 2) + ", " +
                Param(n + 3) + ", assistantd_ts(" + Param(n + 4) + "), " + Param(n + 5) +
                ", assistantd_ts(" + Param(n + 6) + "), assistantd_ts(" + Param(n + 7) + "))";
  const int m = n - 2;  // the UPDATE's first server parameter
  update_sql_ = "UPDATE assistants SET " + assignments + "is_test = " + Param(m) +
                ", vapi_id = " + Param(m + 1) + ", sync_status = " + Param(m + 2) +
                ", sync_error = " + Param(m + 3) + ", last_synced_at = assistantd_ts(" +
                Param(m + 4) + "), version = " + Param(m + 5) + ", updated_at = assistantd_ts(" +
                Param(m + 6) + ") WHERE id = " + Param(m + 7) + "::uuid";
}

namespace {
// Inserts the change's audit entry (unsealed) in its transaction, when asked for one.
Result<void> AuditIn(PgConnection& conn, const AssistantAudit& audit,
                     const domain::Assistant* before, const domain::Assistant* after) {
  if (!audit) return {};
  return PgAppendUnsealed(conn, audit(before, after));
}
}  // namespace

void PgAssistantStore::SubmitCreate(domain::Assistant a, std::optional<std::string> job_key,
                                    int64_t max_assistants, AssistantAudit audit,
                                    Completion<domain::Assistant> done) {
  db_.SubmitValue<domain::Assistant>(
      [this, a = std::move(a), job_key = std::move(job_key), max_assistants,
       audit = std::move(audit)](PgConnection& conn) -> Result<domain::Assistant> {
        if (auto r = Insert(conn, a, true, job_key, max_assistants); !r) {
          return tl::unexpected(r.error());
        }
        if (auto r = AuditIn(conn, audit, nullptr, &a); !r) return tl::unexpected(r.error());
        // Sent by the batcher with the unit's RELEASE: one round trip per create.
        return a;
      },
      std::move(done));
}

Result<void> PgAssistantStore::Restore(const domain::Assistant& a, bool queue_sync) {
  return db_
      .Write<bool>([&](PgConnection& conn) -> Result<bool> {
        if (auto r = Insert(conn, a, queue_sync, std::nullopt, 0); !r) {
          return tl::unexpected(r.error());
        }
        if (auto r = conn.Flush(); !r) return tl::unexpected(r.error());
        return true;
      })
      .map([](bool) {});
}

Result<void> PgAssistantStore::Insert(PgConnection& conn, const domain::Assistant& a,
                                      bool queue_sync, const std::optional<std::string>& job_key,
                                      int64_t max_assistants) {
  if (auto r = conn.SetClaims(UserClaims(a.user_id, "authenticated")); !r) return r;
  if (max_assistants > 0) {
    // Fails the pipeline with quota_exceeded (see PgError) when the owner is at the quota;
    // the count is kept by a trigger (migration 0003), the check is migration 0005's.
    conn.Defer("SELECT assistantd_check_quota($1::uuid, $2)",
               {a.user_id, std::to_string(max_assistants)});
  }
  PgParams params = {a.id, a.user_id};
  AppendMutableParams(params, a);
  params.emplace_back(std::to_string(a.created_at_us));
  params.emplace_back(std::to_string(a.updated_at_us));
  conn.Defer(insert_sql_, std::move(params));
  if (queue_sync) {
    if (auto r = PgEnqueueSync(conn, a.id, a.user_id, a.vapi_id, a.created_at_us, job_key); !r) {
      return tl::unexpected(r.error());
    }
  }
  // The row, its job (and the caller's audit entry) go in one round trip at the end of the
  // write; only the insert can fail for want of the owner's row.
  return {};
}

std::pair<std::string, PgParams> PgAssistantStore::GetSql(const std::string& id,
                                                          const domain::AccessScope* scope,
                                                          bool lock) const {
  std::string sql = "SELECT " + select_columns_ + " FROM assistants WHERE id = $1::uuid";
  PgParams params = {id};
  if (scope) AppendScope(sql, params, *scope);
  if (lock) sql += " FOR UPDATE";
  return {std::move(sql), std::move(params)};
}

Result<std::optional<domain::Assistant>> PgAssistantStore::FirstRow(const Result<PgResult>& r) {
  if (!r) return tl::unexpected(r.error());
  if (r->Rows() == 0) return std::optional<domain::Assistant>();
  auto a = ReadAssistant(PgRow{*r, 0});
  if (!a) return tl::unexpected(a.error());
  return std::optional<domain::Assistant>(std::move(*a));
}

Result<std::optional<domain::Assistant>> PgAssistantStore::GetWith(PgConnection& conn,
                                                                   const std::string& id,
                                                                   const domain::AccessScope* scope,
                                                                   bool lock) {
  const auto [sql, params] = GetSql(id, scope, lock);
  return FirstRow(conn.Exec(sql, params));
}

Result<std::optional<domain::Assistant>> PgAssistantStore::LoadAny(const std::string& id) {
  const auto [sql, params] = GetSql(id, nullptr, false);
  return FirstRow(db_.Query(ServiceClaims(), sql, params));
}

Result<std::optional<domain::Assistant>> PgAssistantStore::Get(const std::string& id,
                                                               const domain::AccessScope& scope) {
  const auto [sql, params] = GetSql(id, &scope, false);
  return FirstRow(db_.Query(ClaimsFor(scope), sql, params));
}

std::pair<std::string, PgParams> PgAssistantStore::ListSql(const domain::ListQuery& q) const {
  std::string sql = "SELECT " + select_columns_ + " FROM assistants WHERE true";
  PgParams params;
  AppendScope(sql, params, q.scope);
  const auto next = [&](std::string value) {
    params.emplace_back(std::move(value));
    return Param(static_cast<int>(params.size()));
  };
  if (q.sync_status) sql += " AND sync_status = " + next(std::string(ToString(*q.sync_status)));
  if (q.name_contains) {
    sql += " AND name ILIKE " + next("%" + EscapeLike(*q.name_contains) + "%") + " ESCAPE '\\'";
  }
  if (q.is_test) sql += *q.is_test ? " AND is_test" : " AND NOT is_test";
  if (q.created_after_us) {
    sql += " AND created_at > assistantd_ts(" + next(std::to_string(*q.created_after_us)) + ")";
  }
  if (q.created_before_us) {
    sql += " AND created_at < assistantd_ts(" + next(std::to_string(*q.created_before_us)) + ")";
  }
  if (q.after) {
    const std::string at = next(std::to_string(q.after->created_at_us));
    sql += " AND (created_at, id) < (assistantd_ts(" + at + "), " + next(q.after->id) + "::uuid)";
  }
  sql += " ORDER BY created_at DESC, id DESC LIMIT " + next(std::to_string(q.limit + 1));
  return {std::move(sql), std::move(params)};
}

Result<std::vector<std::string>> PgAssistantStore::ExplainList(const domain::ListQuery& q) {
  const auto [sql, params] = ListSql(q);
  auto conn = db_.Acquire();
  auto tx = PgTransaction::Begin(*conn, ClaimsFor(q.scope));
  if (!tx) return tl::unexpected(tx.error());
  // With sequential scans priced out, a plan that still scans the table has no index to use.
  if (auto r = conn->Exec("SET LOCAL enable_seqscan = off", {}); !r) {
    return tl::unexpected(r.error());
  }
  auto r = conn->Exec("EXPLAIN " + sql, params);
  if (!r) return tl::unexpected(r.error());
  std::vector<std::string> lines;
  for (int row = 0; row < r->Rows(); ++row) lines.push_back(r->Text(row, 0));
  if (auto c = tx->Commit(); !c) return tl::unexpected(c.error());
  return lines;
}

Result<domain::ListPage> PgAssistantStore::List(const domain::ListQuery& q) {
  const auto [sql, params] = ListSql(q);
  auto r = db_.Query(ClaimsFor(q.scope), sql, params);
  if (!r) return tl::unexpected(r.error());
  domain::ListPage page;
  for (int row = 0; row < r->Rows(); ++row) {
    auto a = ReadAssistant(PgRow{*r, row});
    if (!a) return tl::unexpected(a.error());
    page.items.push_back(std::move(*a));
  }
  page.next = domain::TrimToPage(page.items, q.limit);
  return page;
}

void PgAssistantStore::SubmitUpdate(std::string id, domain::AccessScope scope, Mutation mutate,
                                    std::optional<std::string> job_key, AssistantAudit audit,
                                    Completion<std::optional<domain::Assistant>> done) {
  db_.SubmitValue<std::optional<domain::Assistant>>(
      [this, id = std::move(id), scope = std::move(scope), mutate = std::move(mutate),
       job_key = std::move(job_key),
       audit = std::move(audit)](PgConnection& conn) -> Result<std::optional<domain::Assistant>> {
        if (auto r = conn.SetClaims(ClaimsFor(scope)); !r) return tl::unexpected(r.error());
        // FOR UPDATE: concurrent patches of one assistant apply one after the other.
        auto current = GetWith(conn, id, &scope, true);
        if (!current) return tl::unexpected(current.error());
        if (!*current) return std::optional<domain::Assistant>();
        auto next = NextVersion(**current, mutate);
        if (!next) return tl::unexpected(next.error());
        const domain::Assistant& a = *next;
        PgParams params;
        AppendMutableParams(params, a);
        params.emplace_back(std::to_string(a.updated_at_us));
        params.push_back(a.id);
        if (auto r = conn.Exec(update_sql_, params); !r) return tl::unexpected(r.error());
        if (auto r = PgEnqueueSync(conn, a.id, a.user_id, a.vapi_id, a.updated_at_us, job_key);
            !r) {
          return tl::unexpected(r.error());
        }
        if (auto r = AuditIn(conn, audit, &**current, &a); !r) return tl::unexpected(r.error());
        return std::optional<domain::Assistant>(std::move(*next));
      },
      std::move(done));
}

void PgAssistantStore::SubmitDelete(std::string id, domain::AccessScope scope, int64_t now_us,
                                    std::optional<std::string> job_key, AssistantAudit audit,
                                    Precondition precondition, Completion<bool> done) {
  db_.SubmitValue<bool>(
      [this, id = std::move(id), scope = std::move(scope), now_us, job_key = std::move(job_key),
       audit = std::move(audit),
       precondition = std::move(precondition)](PgConnection& conn) -> Result<bool> {
        if (auto r = conn.SetClaims(ClaimsFor(scope)); !r) return tl::unexpected(r.error());
        auto current = GetWith(conn, id, &scope, true);
        if (!current) return tl::unexpected(current.error());
        if (!*current) return false;
        if (precondition) {
          if (auto ok = precondition(**current); !ok) return tl::unexpected(ok.error());
        }
        // Soft delete: hidden from the API now; the sync job deletes the remote copy, then the
        // row.
        if (auto r = conn.Exec("UPDATE assistants SET sync_status = 'deleting', sync_error = "
                               "NULL, updated_at = assistantd_ts($1) WHERE id = $2::uuid",
                               {std::to_string(now_us), id});
            !r) {
          return tl::unexpected(r.error());
        }
        const domain::Assistant& a = **current;
        if (auto r = PgEnqueueSync(conn, id, a.user_id, a.vapi_id, now_us, job_key); !r) {
          return tl::unexpected(r.error());
        }
        if (auto r = AuditIn(conn, audit, &a, nullptr); !r) return tl::unexpected(r.error());
        return true;
      },
      std::move(done));
}

}  // namespace assistantd::storage
