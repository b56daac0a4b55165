#include "storage/sqlite/sqlite_assistant_store.hpp"

#include <algorithm>
#include <functional>

#include "domain/assistant_fields.hpp"
#include "storage/rows.hpp"
#include "storage/sqlite/sqlite_audit_store.hpp"
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

// Appends scope conditions (rows being deleted are invisible to the API); returns the values
// to bind, in order.
// `plus` ("+") keeps SQLite from using an index for these conditions.
std::vector<std::string> AppendScope(std::string& sql, const domain::AccessScope& scope,
                                     std::string_view plus = "") {
  std::vector<std::string> binds;
  const std::string p(plus);
  sql += " AND " + p + "sync_status <> 'deleting'";
  if (scope.owner_id) {
    sql += " AND " + p + "user_id = ?";
    binds.push_back(*scope.owner_id);
  }
  if (scope.test_only) sql += " AND " + p + "is_test = 1";
  return binds;
}

// Unicode code points in UTF-8 `text` (the trigram index needs three).
size_t CodePoints(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// An FTS5 phrase: the text quoted, inner quotes doubled.
std::string FtsPhrase(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

// How many rows (in list order) a name search reads before it asks the trigram index.
constexpr int kProbeRows = 500;

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

namespace {
// Appends the change's audit entry in its transaction (when the caller asked for one).
Result<void> AuditIn(SqliteConnection& conn, const AssistantAudit& audit,
                     const domain::Assistant* before, const domain::Assistant* after) {
  if (!audit) return {};
  auto entry = audit(before, after);
  return AppendAudit(conn, entry);
}
}  // namespace

void SqliteAssistantStore::SubmitCreate(domain::Assistant a, std::optional<std::string> job_key,
                                        int64_t max_assistants, AssistantAudit audit,
                                        Completion<domain::Assistant> done) {
  db_.SubmitValue<domain::Assistant>(
      [this, a = std::move(a), job_key = std::move(job_key), max_assistants,
       audit = std::move(audit)](SqliteConnection& conn) -> Result<domain::Assistant> {
        if (auto r = Insert(conn, a, true, job_key, max_assistants); !r) {
          return tl::unexpected(r.error());
        }
        if (auto r = AuditIn(conn, audit, nullptr, &a); !r) return tl::unexpected(r.error());
        return a;
      },
      std::move(done));
}

Result<void> SqliteAssistantStore::Restore(const domain::Assistant& a, bool queue_sync) {
  return db_.Write(
      [&](SqliteConnection& conn) { return Insert(conn, a, queue_sync, std::nullopt, 0); });
}

Result<void> SqliteAssistantStore::Insert(SqliteConnection& conn, const domain::Assistant& a,
                                          bool queue_sync,
                                          const std::optional<std::string>& job_key,
                                          int64_t max_assistants) {
  if (max_assistants > 0) {
    // Inside the write transaction: no other create can slip in between the count and the
    // insert. The count is kept by triggers (migration 0008).
    auto count = conn.Prepare("SELECT assistant_count FROM users WHERE id = ?");
    if (!count) return tl::unexpected(count.error());
    count->Bind(1, std::string_view(a.user_id));
    auto row = count->Step();
    if (!row) return tl::unexpected(row.error());
    const int64_t usage = *row ? count->Int(0) : 0;
    if (usage >= max_assistants) return QuotaExceeded(max_assistants, usage);
  }
  auto stmt = conn.Prepare(insert_sql_);
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
    if (auto r = EnqueueSync(conn, a.id, a.user_id, a.vapi_id, a.created_at_us, job_key); !r) {
      return tl::unexpected(r.error());
    }
  }
  return {};
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
  auto a = ReadAssistant(SqliteRow{*stmt});
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
    auto a = ReadAssistant(SqliteRow{*stmt});
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

SqliteAssistantStore::ListStatement SqliteAssistantStore::BuildList(const domain::ListQuery& q,
                                                                    ListShape shape) const {
  ListStatement out;
  // kByName: only the trigram index may drive the query (rowid IN …); every other condition
  // is a filter, and the few matches are sorted.
  const std::string_view plus = shape == ListShape::kByName ? "+" : "";
  const std::string p(plus);
  const std::string like = q.name_contains ? "%" + EscapeLike(*q.name_contains) + "%" : "";
  if (shape == ListShape::kProbe) {
    out.sql = "SELECT rowid, name LIKE ? ESCAPE '\\' FROM assistants WHERE 1 = 1";
    out.text_binds.push_back(like);
  } else {
    out.sql = "SELECT " + select_columns_ + " FROM assistants WHERE 1 = 1";
  }
  if (shape == ListShape::kByName) {
    out.sql += " AND rowid IN (SELECT rowid FROM assistants_name WHERE assistants_name MATCH ?)";
    out.text_binds.push_back(FtsPhrase(*q.name_contains));
  }
  for (auto& b : AppendScope(out.sql, q.scope, plus)) out.text_binds.push_back(std::move(b));
  std::string tail;
  if (q.sync_status) {
    out.sql += " AND " + p + "sync_status = ?";
    out.text_binds.emplace_back(ToString(*q.sync_status));
  }
  if (q.name_contains && shape != ListShape::kProbe) {
    out.sql += " AND name LIKE ? ESCAPE '\\'";
    out.text_binds.push_back(like);
  }
  if (q.is_test) out.sql += " AND " + p + (*q.is_test ? "is_test = 1" : "is_test = 0");
  if (q.created_after_us) {
    tail += " AND " + p + "created_at > ?";
    out.int_binds.push_back(*q.created_after_us);
  }
  if (q.created_before_us) {
    tail += " AND " + p + "created_at < ?";
    out.int_binds.push_back(*q.created_before_us);
  }
  if (q.after) {
    tail += " AND (" + p + "created_at, id) < (?, ?)";
    out.int_binds.push_back(q.after->created_at_us);
  }
  out.sql += tail + " ORDER BY " + p + "created_at DESC, " + p + "id DESC LIMIT ?";
  out.limit = shape == ListShape::kProbe ? kProbeRows : q.limit + 1;
  return out;
}

void SqliteAssistantStore::BindList(SqliteStatement& stmt, const ListStatement& list,
                                    const domain::ListQuery& q) {
  int i = 1;
  for (const auto& b : list.text_binds) stmt.Bind(i++, std::string_view(b));
  for (const auto v : list.int_binds) stmt.Bind(i++, v);
  if (q.after) stmt.Bind(i++, std::string_view(q.after->id));
  stmt.Bind(i, int64_t{list.limit});
}

std::vector<SqliteAssistantStore::ListShape> SqliteAssistantStore::ShapesFor(
    const domain::ListQuery& q) {
  // Name search reads rows in list order while matches are dense (a common term fills the
  // page at once), and asks the trigram index when they are not (a rare or absent term).
  // Fewer than three characters cannot use the index.
  if (q.name_contains && CodePoints(*q.name_contains) >= 3) {
    return {ListShape::kProbe, ListShape::kByName};
  }
  return {ListShape::kOrdered};
}

Result<std::vector<std::string>> SqliteAssistantStore::ExplainList(const domain::ListQuery& q,
                                                                   ListShape shape) {
  const ListStatement list = BuildList(q, shape);
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
  auto conn = db_.Acquire();
  // Runs one shape, calling `row` for each row while it answers true.
  const auto run = [&](ListShape shape,
                       const std::function<Result<bool>(SqliteStatement&)>& row) -> Result<void> {
    const ListStatement list = BuildList(q, shape);
    auto stmt = conn->Prepare(list.sql);
    if (!stmt) return tl::unexpected(stmt.error());
    BindList(*stmt, list, q);
    for (;;) {
      auto more = stmt->Step();
      if (!more) return tl::unexpected(more.error());
      if (!*more) return {};
      auto go_on = row(*stmt);
      if (!go_on) return tl::unexpected(go_on.error());
      if (!*go_on) return {};
    }
  };
  domain::ListPage page;
  const auto keep = [&](SqliteStatement& stmt) -> Result<bool> {
    auto a = ReadAssistant(SqliteRow{stmt});
    if (!a) return tl::unexpected(a.error());
    page.items.push_back(std::move(*a));
    return true;
  };
  const auto shapes = ShapesFor(q);
  if (shapes.front() == ListShape::kProbe) {
    std::vector<int64_t> matches;
    int read = 0;
    // Stops as soon as the page (and the one row that tells whether more follow) is found.
    auto probed = run(ListShape::kProbe, [&](SqliteStatement& stmt) -> Result<bool> {
      ++read;
      if (stmt.Int(1) != 0) matches.push_back(stmt.Int(0));
      return matches.size() <= static_cast<size_t>(q.limit);
    });
    if (!probed) return tl::unexpected(probed.error());
    if (matches.size() > static_cast<size_t>(q.limit) || read < kProbeRows) {
      // The probe saw the whole page (or every row there is): fetch those rows, in order.
      const std::string by_rowid = "SELECT " + select_columns_ + " FROM assistants WHERE rowid = ?";
      for (const int64_t rowid : matches) {
        auto stmt = conn->Prepare(by_rowid);  // cached; reset when it goes out of scope
        if (!stmt) return tl::unexpected(stmt.error());
        stmt->Bind(1, rowid);
        auto found = stmt->Step();
        if (!found) return tl::unexpected(found.error());
        if (*found) {
          if (auto r = keep(*stmt); !r) return tl::unexpected(r.error());
        }
      }
    } else if (auto r = run(ListShape::kByName, keep); !r) {
      return tl::unexpected(r.error());
    }
  } else if (auto r = run(ListShape::kOrdered, keep); !r) {
    return tl::unexpected(r.error());
  }
  page.next = domain::TrimToPage(page.items, q.limit);
  return page;
}

void SqliteAssistantStore::SubmitUpdate(std::string id, domain::AccessScope scope, Mutation mutate,
                                        std::optional<std::string> job_key, AssistantAudit audit,
                                        Completion<std::optional<domain::Assistant>> done) {
  db_.SubmitValue<std::optional<domain::Assistant>>(
      [this, id = std::move(id), scope = std::move(scope), mutate = std::move(mutate),
       job_key = std::move(job_key), audit = std::move(audit)](
          SqliteConnection& conn) -> Result<std::optional<domain::Assistant>> {
        auto current = GetWith(conn, id, &scope);
        if (!current) return tl::unexpected(current.error());
        if (!*current) return std::optional<domain::Assistant>();
        auto next = NextVersion(**current, mutate);
        if (!next) return tl::unexpected(next.error());
        const domain::Assistant& a = *next;
        auto stmt = conn.Prepare(update_sql_);
        if (!stmt) return tl::unexpected(stmt.error());
        int i = BindMutableColumns(*stmt, 1, a);
        stmt->Bind(i++, a.updated_at_us);
        stmt->Bind(i++, std::string_view(a.id));
        if (auto r = stmt->Run(); !r) return tl::unexpected(r.error());
        if (auto r = EnqueueSync(conn, a.id, a.user_id, a.vapi_id, a.updated_at_us, job_key); !r) {
          return tl::unexpected(r.error());
        }
        if (auto r = AuditIn(conn, audit, &**current, &a); !r) return tl::unexpected(r.error());
        return std::optional<domain::Assistant>(std::move(*next));
      },
      std::move(done));
}

void SqliteAssistantStore::SubmitDelete(std::string id, domain::AccessScope scope, int64_t now_us,
                                        std::optional<std::string> job_key, AssistantAudit audit,
                                        Precondition precondition, Completion<bool> done) {
  db_.SubmitValue<bool>(
      [this, id = std::move(id), scope = std::move(scope), now_us, job_key = std::move(job_key),
       audit = std::move(audit),
       precondition = std::move(precondition)](SqliteConnection& conn) -> Result<bool> {
        auto current = GetWith(conn, id, &scope);
        if (!current) return tl::unexpected(current.error());
        if (!*current) return false;
        if (precondition) {
          if (auto ok = precondition(**current); !ok) return tl::unexpected(ok.error());
        }
        // Soft delete: hidden from the API now; the sync job deletes the remote copy, then the
        // row.
        auto stmt = conn.Prepare(
            "UPDATE assistants SET sync_status = 'deleting', sync_error = NULL, updated_at = ? "
            "WHERE id = ?");
        if (!stmt) return tl::unexpected(stmt.error());
        stmt->Bind(1, now_us);
        stmt->Bind(2, std::string_view(id));
        if (auto r = stmt->Run(); !r) return tl::unexpected(r.error());
        const domain::Assistant& a = **current;
        if (auto r = EnqueueSync(conn, id, a.user_id, a.vapi_id, now_us, job_key); !r) {
          return tl::unexpected(r.error());
        }
        if (auto r = AuditIn(conn, audit, &a, nullptr); !r) return tl::unexpected(r.error());
        return true;
      },
      std::move(done));
}

}  // namespace assistantd::storage
