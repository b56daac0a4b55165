#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "domain/assistant.hpp"
#include "domain/list_query.hpp"
#include "domain/principal.hpp"
#include "domain/user.hpp"

// The storage interfaces. Every backend (SQLite, PostgreSQL) implements them with the same
// behaviour; the contract suite in tests/storage runs against each.
namespace assistantd::storage {

class AssistantStore {
 public:
  virtual ~AssistantStore() = default;

  // Inserts a new assistant whose id, owner, fields and timestamps the caller has set.
  // kConflict if its owner no longer exists.
  virtual Result<domain::Assistant> Create(const domain::Assistant& assistant) = 0;

  // The assistant with this id inside `scope`, or nullopt (outside the scope = not found).
  virtual Result<std::optional<domain::Assistant>> Get(const std::string& id,
                                                       const domain::AccessScope& scope) = 0;

  // One page in (created_at desc, id desc) order.
  virtual Result<domain::ListPage> List(const domain::ListQuery& query) = 0;

  // Reads the assistant inside `scope`, lets `mutate` compute its new state and writes it, in
  // one transaction. nullopt if not found. The store sets version and updated_at.
  using Mutation = std::function<Result<domain::Assistant>(const domain::Assistant& current)>;
  virtual Result<std::optional<domain::Assistant>> Update(const std::string& id,
                                                          const domain::AccessScope& scope,
                                                          const Mutation& mutate) = 0;

  // Deletes the assistant inside `scope`; false if there was none.
  virtual Result<bool> Delete(const std::string& id, const domain::AccessScope& scope) = 0;
};

struct UserPage {
  std::vector<domain::User> items;
  std::optional<domain::ListCursor> next;
};

class UserStore {
 public:
  virtual ~UserStore() = default;

  // Creates the user row if it does not exist yet; never changes an existing one.
  virtual Result<void> EnsureUser(const domain::User& user) = 0;
  virtual Result<std::optional<domain::User>> GetUser(const std::string& id) = 0;
  virtual Result<UserPage> ListUsers(const std::optional<domain::ListCursor>& after,
                                     int limit) = 0;
  // Deletes the user and, by ON DELETE CASCADE, their assistants. False if absent.
  virtual Result<bool> DeleteUser(const std::string& id) = 0;
};

// Database-wide checks for /readyz and `assistantd migrate`.
class Database {
 public:
  virtual ~Database() = default;
  // Applies pending migrations; returns how many were applied.
  virtual Result<int> Migrate() = 0;
  // kUnavailable unless the database answers and every known migration is applied.
  virtual Result<void> CheckReady() = 0;
  virtual int LatestSchemaVersion() const = 0;
};

}  // namespace assistantd::storage
