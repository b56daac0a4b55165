#pragma once

#include <string>

#include "storage/sqlite/sqlite_database.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

class SqliteAssistantStore final : public AssistantStore {
 public:
  explicit SqliteAssistantStore(SqliteDatabase& db);

  Result<domain::Assistant> Create(const domain::Assistant& assistant) override;
  Result<std::optional<domain::Assistant>> Get(const std::string& id,
                                               const domain::AccessScope& scope) override;
  Result<domain::ListPage> List(const domain::ListQuery& query) override;
  Result<std::optional<domain::Assistant>> Update(const std::string& id,
                                                  const domain::AccessScope& scope,
                                                  const Mutation& mutate) override;
  Result<bool> Delete(const std::string& id, const domain::AccessScope& scope) override;

 private:
  Result<std::optional<domain::Assistant>> GetWith(SqliteConnection& conn, const std::string& id,
                                                   const domain::AccessScope& scope);

  SqliteDatabase& db_;
  std::string select_columns_;  // every column, in the order ReadRow expects
  std::string insert_sql_;
  std::string update_sql_;
};

}  // namespace assistantd::storage
