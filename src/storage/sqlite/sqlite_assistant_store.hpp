#pragma once

#include <string>

#include "storage/sqlite/sqlite_database.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

class SqliteAssistantStore final : public AssistantStore {
 public:
  explicit SqliteAssistantStore(SqliteDatabase& db);

  Result<domain::Assistant> Create(const domain::Assistant& assistant,
                                   const std::optional<std::string>& job_key,
                                   int64_t max_assistants) override;
  Result<std::optional<domain::Assistant>> Get(const std::string& id,
                                               const domain::AccessScope& scope) override;
  Result<domain::ListPage> List(const domain::ListQuery& query) override;
  Result<std::optional<domain::Assistant>> Update(
      const std::string& id, const domain::AccessScope& scope, const Mutation& mutate,
      const std::optional<std::string>& job_key) override;
  Result<bool> Delete(const std::string& id, const domain::AccessScope& scope, int64_t now_us,
                      const std::optional<std::string>& job_key) override;
  Result<void> Restore(const domain::Assistant& assistant, bool queue_sync) override;

  // The row with this id whatever its state (including rows being deleted), for the sync
  // worker.
  Result<std::optional<domain::Assistant>> LoadAny(const std::string& id);

  // Rows (any owner, any state) whose id is after `after_id` (or equals `only_id`), in id
  // order, each with whether it has an open sync job.
  Result<std::vector<ScannedAssistant>> Scan(const std::string& after_id, int limit,
                                             const std::string* only_id = nullptr);

  // SQLite's query plan for the SQL List() runs for `query` (one line per plan step), so
  // tests can check that listing uses an index instead of scanning the table.
  Result<std::vector<std::string>> ExplainList(const domain::ListQuery& query);

 private:
  Result<void> Insert(const domain::Assistant& assistant, bool queue_sync,
                      const std::optional<std::string>& job_key, int64_t max_assistants);
  // The row inside `scope` (visible rows only), or any row when `scope` is null.
  Result<std::optional<domain::Assistant>> GetWith(SqliteConnection& conn, const std::string& id,
                                                   const domain::AccessScope* scope);

  // The list SQL and, in order, its text and integer parameters.
  struct ListStatement {
    std::string sql;
    std::vector<std::string> text_binds;
    std::vector<int64_t> int_binds;
  };
  ListStatement BuildList(const domain::ListQuery& query) const;
  static void BindList(SqliteStatement& stmt, const ListStatement& list,
                       const domain::ListQuery& query);

  SqliteDatabase& db_;
  std::string select_columns_;  // every column, in the order ReadRow expects
  std::string insert_sql_;
  std::string update_sql_;
};

}  // namespace assistantd::storage
