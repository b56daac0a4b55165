#pragma once

#include <string>
#include <utility>
#include <vector>

#include "storage/postgres/pg_database.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

// Queues (or coalesces into the open) sync job for an assistant, inside the caller's
// transaction on `conn` (the PostgreSQL twin of EnqueueSync).
Result<void> PgEnqueueSync(PgConnection& conn, const std::string& assistant_id,
                           const std::string& user_id, const std::optional<std::string>& vapi_id,
                           int64_t now_us, const std::optional<std::string>& job_key);

// The claims a scope runs with under row-level security: an owner's (as `test` when confined
// to test rows) or, for admins, the service's.
nlohmann::json ClaimsFor(const domain::AccessScope& scope);

class PgAssistantStore final : public AssistantStore {
 public:
  explicit PgAssistantStore(PgDatabase& db);

  void SubmitCreate(domain::Assistant assistant, std::optional<std::string> job_key,
                    int64_t max_assistants, AssistantAudit audit,
                    Completion<domain::Assistant> done) override;
  Result<std::optional<domain::Assistant>> Get(const std::string& id,
                                               const domain::AccessScope& scope) override;
  Result<domain::ListPage> List(const domain::ListQuery& query) override;
  // The plan PostgreSQL chooses for a list query, one line per row of EXPLAIN's output, with
  // sequential scans disabled (for the plan test).
  Result<std::vector<std::string>> ExplainList(const domain::ListQuery& query);
  void SubmitUpdate(std::string id, domain::AccessScope scope, Mutation mutate,
                    std::optional<std::string> job_key, AssistantAudit audit,
                    Completion<std::optional<domain::Assistant>> done) override;
  void SubmitDelete(std::string id, domain::AccessScope scope, int64_t now_us,
                    std::optional<std::string> job_key, AssistantAudit audit,
                    Precondition precondition, Completion<bool> done) override;
  Result<void> Restore(const domain::Assistant& assistant, bool queue_sync) override;

  // The row whatever its state, for the sync worker (runs with the service's claims).
  Result<std::optional<domain::Assistant>> LoadAny(const std::string& id);

  // The row inside `scope` (visible rows only), or any row when `scope` is null, on `conn`
  // inside the caller's transaction; `lock` adds FOR UPDATE.
  Result<std::optional<domain::Assistant>> GetWith(PgConnection& conn, const std::string& id,
                                                   const domain::AccessScope* scope, bool lock);

  // Every column, in the order ReadAssistant expects (for other PostgreSQL stores).
  const std::string& SelectColumns() const { return select_columns_; }

 private:
  // The SELECT of one row inside `scope` (any row when null), FOR UPDATE when `lock`.
  std::pair<std::string, PgParams> GetSql(const std::string& id, const domain::AccessScope* scope,
                                          bool lock) const;
  static Result<std::optional<domain::Assistant>> FirstRow(const Result<PgResult>& rows);
  Result<void> Insert(PgConnection& conn, const domain::Assistant& assistant, bool queue_sync,
                      const std::optional<std::string>& job_key, int64_t max_assistants);

  PgDatabase& db_;
  std::pair<std::string, PgParams> ListSql(const domain::ListQuery& query) const;
  std::string select_columns_;
  std::string insert_sql_;
  std::string update_sql_;
};

}  // namespace assistantd::storage
