#pragma once

#include <string>

#include "storage/sqlite/sqlite_database.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

class SqliteAssistantStore final : public AssistantStore {
 public:
  explicit SqliteAssistantStore(SqliteDatabase& db);

  void SubmitCreate(domain::Assistant assistant, std::optional<std::string> job_key,
                    int64_t max_assistants, AssistantAudit audit,
                    Completion<domain::Assistant> done) override;
  Result<std::optional<domain::Assistant>> Get(const std::string& id,
                                               const domain::AccessScope& scope) override;
  Result<domain::ListPage> List(const domain::ListQuery& query) override;
  void SubmitUpdate(std::string id, domain::AccessScope scope, Mutation mutate,
                    std::optional<std::string> job_key, AssistantAudit audit,
                    Completion<std::optional<domain::Assistant>> done) override;
  void SubmitDelete(std::string id, domain::AccessScope scope, int64_t now_us,
                    std::optional<std::string> job_key, AssistantAudit audit,
                    Precondition precondition, Completion<bool> done) override;
  Result<void> Restore(const domain::Assistant& assistant, bool queue_sync) override;

  // The row with this id whatever its state (including rows being deleted), for the sync
  // worker.
  Result<std::optional<domain::Assistant>> LoadAny(const std::string& id);

  // The row inside `scope` (visible rows only), or any row when `scope` is null, on `conn`
  // (inside the caller's transaction).
  Result<std::optional<domain::Assistant>> GetWith(SqliteConnection& conn, const std::string& id,
                                                   const domain::AccessScope* scope);

  // Rows (any owner, any state) whose id is after `after_id` (or equals `only_id`), in id
  // order, each with whether it has an open sync job.
  Result<std::vector<ScannedAssistant>> Scan(const std::string& after_id, int limit,
                                             const std::string* only_id = nullptr);

  // The statements List() may run for a query: in list order through an index (kOrdered);
  // for a name search, first a bounded read in list order that only flags matches (kProbe),
  // then, when matches are sparse, the trigram index's candidates sorted (kByName).
  enum class ListShape { kOrdered, kProbe, kByName };
  static std::vector<ListShape> ShapesFor(const domain::ListQuery& query);
  // SQLite's query plan for one of them (one line per plan step), so tests can check that
  // listing never scans a table.
  Result<std::vector<std::string>> ExplainList(const domain::ListQuery& query, ListShape shape);

 private:
  Result<void> Insert(SqliteConnection& conn, const domain::Assistant& assistant, bool queue_sync,
                      const std::optional<std::string>& job_key, int64_t max_assistants);

  // The list SQL and, in order, its text and integer parameters.
  struct ListStatement {
    std::string sql;
    std::vector<std::string> text_binds;
    std::vector<int64_t> int_binds;
    int limit = 0;  // the LIMIT bound last
  };
  ListStatement BuildList(const domain::ListQuery& query, ListShape shape) const;
  static void BindList(SqliteStatement& stmt, const ListStatement& list,
                       const domain::ListQuery& query);

  SqliteDatabase& db_;
  std::string select_columns_;  // every column, in the order ReadRow expects
  std::string insert_sql_;
  std::string update_sql_;
};

}  // namespace assistantd::storage
