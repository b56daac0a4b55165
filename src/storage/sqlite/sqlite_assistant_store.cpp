#include "storage/sqlite/sqlite_assistant_store.hpp"

#include "domain/assistant_fields.hpp"
#include "storage/sqlite/sqlite_sync_store.hpp"

namespace assistantd::storage {
namespace {

using domain::AssistantFields;
using domain::StorageType;

// Column order: id, user_id, the client fields in table order, then the server columns.
constexpr int kFirstFieldColumn = 2;
const char* const kServerColumns =
    "is_test, vapi_id, sync_status, sync_error, last_synced_at, version, created_at, updated_at";

int ServerColumn(int offset) {
  return kFirstFieldColumn + static_cast<int>(AssistantFields().size()) + offset;
}

void BindField(SqliteStatement& stmt, int index, const domain::FieldSpec& spec,
               const nlohmann::json& fields) {
  const auto it = fields.find(spec.wire);
  if (it == fields.end() || it->is_null()) {
    stmt.BindNull(index);
    return;
  }
  switch (spec.storage) {
    case StorageType::kText:
      stmt.Bind(index, std::string_view(it->get_ref<const std::string&>()));
      break;
    case StorageType::kBoolean:
      stmt.Bind(index, int64_t{it->get<bool>() ? 1 : 0});
      break;
    case StorageType::kNumber:
      if (it->is_number_integer()) {
        stmt.Bind(index, it->get<int64_t>());
      } else {
        stmt.Bind(index, it->get<double>());
      }
      break;
    case StorageType::kJson:
      stmt.Bind(index, std::string_view(it->dump()));
      break;
  }
}

// Binds the client fields and the server columns up to `version`, starting at `i`; returns the
// next index. Shared by INSERT and UPDATE, whose column lists agree on this run.
int BindMutableColumns(SqliteStatement& stmt, int i, const domain::Assistant& a) {
  for (const auto& spec : AssistantFields()) BindField(stmt, i++, spec, a.fields);
  stmt.Bind(i++, int64_t{a.IsTest() ? 1 : 0});
  stmt.Bind(i++, a.vapi_id);
  stmt.Bind(i++, ToString(a.sync_status));
  stmt.Bind(i++, a.sync_error);
  if (a.last_synced_at_us) {
    stmt.Bind(i++, *a.last_synced_at_us);
  } else {
    stmt.BindNull(i++);
  }
  stmt.Bind(i++, a.version);
  return i;
}

Result<domain::Assistant> ReadRow(const SqliteStatement& stmt) {
  domain::Assistant a;
  a.id = stmt.Text(0);
  a.user_id = stmt.Text(1);
  int col = kFirstFieldColumn;
  for (const auto& spec : AssistantFields()) {
    const int c = col++;
    if (stmt.IsNull(c)) continue;
    const std::string key(spec.wire);
    switch (spec.storage) {
      case StorageType::kText:
        a.fields[key] = stmt.Text(c);
        break;
      case StorageType::kBoolean:
        a.fields[key] = stmt.Int(c) != 0;
        break;
      case StorageType::kNumber:
        if (stmt.Type(c) == SQLITE_INTEGER) {
          a.fields[key] = stmt.Int(c);
        } else {
          a.fields[key] = stmt.Double(c);
        }
        break;
      case StorageType::kJson: {
        auto parsed = nlohmann::json::parse(stmt.Text(c), nullptr, /*allow_exceptions=*/false);
        if (parsed.is_discarded())
          return Internal("corrupt JSON in column " + std::string(spec.column));
        a.fields[key] = std::move(parsed);
        break;
      }
    }
  }
  a.vapi_id = stmt.OptionalText(ServerColumn(1));
  a.sync_status =
      domain::ParseSyncStatus(stmt.Text(ServerColumn(2))).value_or(domain::SyncStatus::kPending);
  a.sync_error = stmt.OptionalText(ServerColumn(3));
  if (!stmt.IsNull(ServerColumn(4))) a.last_synced_at_us = stmt.Int(ServerColumn(4));
  a.version = stmt.Int(ServerColumn(5));
  a.created_at_us = stmt.Int(ServerColumn(6));
  a.updated_at_us = stmt.Int(ServerColumn(7));
  return a;
}

// Appends scope conditions (rows being deleted are invisible to the API); returns the values
// to bind, in order.
std::vector<std::string> AppendScope(std::string& sql, const domain::AccessScope& scope) {
  std::vector<std::string> binds;
  sql += " AND sync_status <> 'deleting'";
  if (scope.owner_id) {
    sql += " AND user_id = ?";
    binds.push_back(*scope.owner_id);
  }
  if (scope.test_only) sql += " AND is_test = 1";
  return binds;
}

std::string EscapeLike(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

SqliteAssistantStore::SqliteAssistantStore(SqliteDatabase& db) : db_(db) {
  std::string field_columns;
  std::string placeholders;
  std::string assignments;
  for (const auto& spec : AssistantFields()) {
    field_columns += std::string(spec.column) + ", ";
    placeholders += "?, ";
    assignments += std::string(spec.column) + " = ?, ";
  }
  select_columns_ = "id, user_id, " + field_columns + kServerColumns;
  insert_sql_ = "INSERT INTO assistants (id, user_id, " + field_columns + kServerColumns +
                ") VALUES (?, ?, " + placeholders + "?, ?, ?, ?, ?, ?, ?, ?)";
  update_sql_ = "UPDATE assistants SET " + assignments +
                "is_test = ?, vapi_id = ?, sync_status = ?, sync_error = ?, last_synced_at = ?, "
                "version = ?, updated_at = ? WHERE id = ?";
}

Result<domain::Assistant> SqliteAssistantStore::Create(const domain::Assistant& a,
                                                       const std::optional<std::string>& job_key,
                                                       int64_t max_assistants) {
  auto r = Insert(a, true, job_key, max_assistants);
  if (!r) return tl::unexpected(r.error());
  return a;
}

Result<void> SqliteAssistantStore::Restore(const domain::Assistant& a, bool queue_sync) {
  return Insert(a, queue_sync, std::nullopt, 0);
}

Result<void> SqliteAssistantStore::Insert(const domain::Assistant& a, bool queue_sync,
                                          const std::optional<std::string>& job_key,
                                          int64_t max_assistants) {
  auto conn = db_.Acquire();
  auto tx = SqliteTransaction::Begin(db_, *conn);
  if (!tx) return tl::unexpected(tx.error());
  if (max_assistants > 0) {
    // The writer lock is held: no other create can slip in between the count and the insert.
    auto count = conn->Prepare(
        "SELECT count(*) FROM assistants WHERE user_id = ? AND sync_status <> 'deleting'");
    if (!count) return tl::unexpected(count.error());
    count->Bind(1, std::string_view(a.user_id));
    auto row = count->Step();
    if (!row) return tl::unexpected(row.error());
    const int64_t usage = count->Int(0);
    if (usage >= max_assistants) return QuotaExceeded(max_assistants, usage);
  }
  auto stmt = conn->Prepare(insert_sql_);
  if (!stmt) return tl::unexpected(stmt.error());
  int i = 1;
  stmt->Bind(i++, std::string_view(a.id));
  stmt->Bind(i++, std::string_view(a.user_id));
  i = BindMutableColumns(*stmt, i, a);
  stmt->Bind(i++, a.created_at_us);
  stmt->Bind(i++, a.updated_at_us);
  if (auto r = stmt->Run(); !r) {
    return tl::unexpected(AsOwnerNotFound(r.error()));
  }
  if (queue_sync) {
    if (auto r = EnqueueSync(*conn, a.id, a.user_id, a.vapi_id, a.created_at_us, job_key); !r) {
      return tl::unexpected(r.error());
    }
  }
  return tx->Commit();
}

Result<std::optional<domain::Assistant>> SqliteAssistantStore::GetWith(
    SqliteConnection& conn, const std::string& id, const domain::AccessScope* scope) {
  std::string sql = "SELECT " + select_columns_ + " FROM assistants WHERE id = ?";
  const auto binds = scope ? AppendScope(sql, *scope) : std::vector<std::string>();
  auto stmt = conn.Prepare(sql);
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, std::string_view(id));
  for (size_t b = 0; b < binds.size(); ++b) {
    stmt->Bind(static_cast<int>(b + 2), std::string_view(binds[b]));
  }
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<domain::Assistant>();
  auto a = ReadRow(*stmt);
  if (!a) return tl::unexpected(a.error());
  return std::optional<domain::Assistant>(std::move(*a));
}

Result<std::vector<ScannedAssistant>> SqliteAssistantStore::Scan(const std::string& after_id,
                                                                 int limit,
                                                                 const std::string* only_id) {
  auto conn = db_.Acquire();
  auto stmt = conn->Prepare(
      "SELECT " + select_columns_ +
      ", EXISTS (SELECT 1 FROM sync_jobs j WHERE j.assistant_id = assistants.id AND j.state IN "
      "('queued', 'running')) FROM assistants WHERE " +
      (only_id ? "id = ?" : "id > ?") + " ORDER BY id LIMIT ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, std::string_view(only_id ? *only_id : after_id));
  stmt->Bind(2, int64_t{limit});
  const int open_column = ServerColumn(8);
  std::vector<ScannedAssistant> out;
  for (;;) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return out;
    auto a = ReadRow(*stmt);
    if (!a) return tl::unexpected(a.error());
    out.push_back({std::move(*a), stmt->Int(open_column) != 0});
  }
}

Result<std::optional<domain::Assistant>> SqliteAssistantStore::LoadAny(const std::string& id) {
  auto conn = db_.Acquire();
  return GetWith(*conn, id, nullptr);
}

Result<std::optional<domain::Assistant>> SqliteAssistantStore::Get(
    const std::string& id, const domain::AccessScope& scope) {
  auto conn = db_.Acquire();
  return GetWith(*conn, id, &scope);
}

SqliteAssistantStore::ListStatement SqliteAssistantStore::BuildList(
    const domain::ListQuery& q) const {
  ListStatement out;
  out.sql = "SELECT " + select_columns_ + " FROM assistants WHERE 1 = 1";
  out.text_binds = AppendScope(out.sql, q.scope);
  std::string tail;
  if (q.sync_status) {
    out.sql += " AND sync_status = ?";
    out.text_binds.emplace_back(ToString(*q.sync_status));
  }
  if (q.name_contains) {
    out.sql += " AND name LIKE ? ESCAPE '\\'";
    out.text_binds.push_back("%" + EscapeLike(*q.name_contains) + "%");
  }
  if (q.is_test) out.sql += *q.is_test ? " AND is_test = 1" : " AND is_test = 0";
  if (q.created_after_us) {
    tail += " AND created_at > ?";
    out.int_binds.push_back(*q.created_after_us);
  }
  if (q.created_before_us) {
    tail += " AND created_at < ?";
    out.int_binds.push_back(*q.created_before_us);
  }
  if (q.after) {
    tail += " AND (created_at, id) < (?, ?)";
    out.int_binds.push_back(q.after->created_at_us);
  }
  out.sql += tail + " ORDER BY created_at DESC, id DESC LIMIT ?";
  return out;
}

void SqliteAssistantStore::BindList(SqliteStatement& stmt, const ListStatement& list,
                                    const domain::ListQuery& q) {
  int i = 1;
  for (const auto& b : list.text_binds) stmt.Bind(i++, std::string_view(b));
  for (const auto v : list.int_binds) stmt.Bind(i++, v);
  if (q.after) stmt.Bind(i++, std::string_view(q.after->id));
  stmt.Bind(i, int64_t{q.limit} + 1);
}

Result<std::vector<std::string>> SqliteAssistantStore::ExplainList(const domain::ListQuery& q) {
  const ListStatement list = BuildList(q);
  auto conn = db_.Acquire();
  auto stmt = conn->Prepare("EXPLAIN QUERY PLAN " + list.sql);
  if (!stmt) return tl::unexpected(stmt.error());
  BindList(*stmt, list, q);
  std::vector<std::string> plan;
  for (;;) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return plan;
    plan.push_back(stmt->Text(3));
  }
}

Result<domain::ListPage> SqliteAssistantStore::List(const domain::ListQuery& q) {
  const ListStatement list = BuildList(q);
  auto conn = db_.Acquire();
  auto stmt = conn->Prepare(list.sql);
  if (!stmt) return tl::unexpected(stmt.error());
  BindList(*stmt, list, q);

  domain::ListPage page;
  for (;;) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    auto a = ReadRow(*stmt);
    if (!a) return tl::unexpected(a.error());
    page.items.push_back(std::move(*a));
  }
  page.next = domain::TrimToPage(page.items, q.limit);
  return page;
}

Result<std::optional<domain::Assistant>> SqliteAssistantStore::Update(
    const std::string& id, const domain::AccessScope& scope, const Mutation& mutate,
    const std::optional<std::string>& job_key) {
  auto conn = db_.Acquire();
  auto tx = SqliteTransaction::Begin(db_, *conn);
  if (!tx) return tl::unexpected(tx.error());
  auto current = GetWith(*conn, id, &scope);
  if (!current) return tl::unexpected(current.error());
  if (!*current) return std::optional<domain::Assistant>();
  auto next = NextVersion(**current, mutate);
  if (!next) return tl::unexpected(next.error());
  const domain::Assistant& a = *next;

  auto stmt = conn->Prepare(update_sql_);
  if (!stmt) return tl::unexpected(stmt.error());
  int i = 1;
  i = BindMutableColumns(*stmt, i, a);
  stmt->Bind(i++, a.updated_at_us);
  stmt->Bind(i++, std::string_view(a.id));
  if (auto r = stmt->Run(); !r) return tl::unexpected(r.error());
  if (auto r = EnqueueSync(*conn, a.id, a.user_id, a.vapi_id, a.updated_at_us, job_key); !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = tx->Commit(); !r) return tl::unexpected(r.error());
  return std::optional<domain::Assistant>(std::move(a));
}

Result<bool> SqliteAssistantStore::Delete(const std::string& id, const domain::AccessScope& scope,
                                          int64_t now_us,
                                          const std::optional<std::string>& job_key) {
  auto conn = db_.Acquire();
  auto tx = SqliteTransaction::Begin(db_, *conn);
  if (!tx) return tl::unexpected(tx.error());
  auto current = GetWith(*conn, id, &scope);
  if (!current) return tl::unexpected(current.error());
  if (!*current) return false;
  // Soft delete: hidden from the API now; the sync job deletes the remote copy, then the row.
  auto stmt = conn->Prepare(
      "UPDATE assistants SET sync_status = 'deleting', sync_error = NULL, updated_at = ? "
      "WHERE id = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, now_us);
  stmt->Bind(2, std::string_view(id));
  if (auto r = stmt->Run(); !r) return tl::unexpected(r.error());
  if (auto r = EnqueueSync(*conn, id, (*current)->user_id, (*current)->vapi_id, now_us, job_key);
      !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = tx->Commit(); !r) return tl::unexpected(r.error());
  return true;
}

}  // namespace assistantd::storage
