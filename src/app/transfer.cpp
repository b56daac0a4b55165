// `assistantd export` / `import`: every table that holds user data as JSON lines, streamed
// page by page (constant memory), portable between SQLite and PostgreSQL.
//
// Lines: a header {"format":"assistantd-export","version":1,...}, then users, stored Vapi
// keys (still sealed: the same master key is needed on the other side), assistants with all
// their server-owned fields, and a closing {"type":"end","counts":{...}} that lets an import
// detect a truncated file. Timestamps are integer microseconds since the epoch, exact on both
// backends. Finished sync history is not carried; an assistant whose sync job was open gets a
// new one on import, so no pending change is lost.
#include "app/transfer.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <unordered_set>

#include "common/encoding.hpp"
#include "common/json_util.hpp"
#include "common/time_format.hpp"

namespace assistantd::app {
namespace {

using nlohmann::json;

constexpr int kPage = 500;
constexpr const char* kFormat = "assistantd-export";

json Optional(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }
json Optional(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }

Error BadLine(int64_t line, const std::string& why) {
  return Error{ErrorCode::kInvalidInput, "invalid_export",
               "line " + std::to_string(line) + ": " + why, json::array(), ""};
}

// The typed content of one line, checked; throws nothing (json access is guarded).
Result<void> CheckRecord(const json& r, int64_t line) {
  const auto need = [&](const char* key, json::value_t type) -> Result<void> {
    const auto it = r.find(key);
    const bool ok =
        it != r.end() &&
        (it->type() == type || (type == json::value_t::number_integer && it->is_number_integer()));
    if (!ok)
      return tl::unexpected(BadLine(line, std::string("missing or mistyped \"") + key + "\""));
    return {};
  };
  const std::string type = StringOr(r, "type");
  using V = json::value_t;
  if (type == "user") {
    for (const auto& [k, t] : {std::pair{"id", V::string},
                               {"role", V::string},
                               {"createdAt", V::number_integer},
                               {"updatedAt", V::number_integer}}) {
      if (auto c = need(k, t); !c) return c;
    }
    // Account fields (since accounts exist): optional, typed when present.
    const auto optional = [&](const char* key, bool ok) -> Result<void> {
      if (!r.contains(key) || r[key].is_null() || ok) return {};
      return tl::unexpected(BadLine(line, std::string("mistyped \"") + key + "\""));
    };
    for (const char* key : {"passwordHash", "displayName"}) {
      if (auto c = optional(key, r.contains(key) && r[key].is_string()); !c) return c;
    }
    for (const char* key : {"emailConfirmedAt", "lastSignInAt", "bannedUntil"}) {
      if (auto c = optional(key, r.contains(key) && r[key].is_number_integer()); !c) return c;
    }
    for (const char* key : {"userMetadata", "appMetadata", "preferences"}) {
      if (auto c = optional(key, r.contains(key) && r[key].is_object()); !c) return c;
    }
  } else if (type == "vapiKey") {
    for (const auto& [k, t] : {std::pair{"owner", V::string},
                               {"sealed", V::string},
                               {"last4", V::string},
                               {"updatedAt", V::number_integer}}) {
      if (auto c = need(k, t); !c) return c;
    }
  } else if (type == "assistant") {
    for (const auto& [k, t] : {std::pair{"id", V::string},
                               {"userId", V::string},
                               {"fields", V::object},
                               {"syncStatus", V::string},
                               {"version", V::number_integer},
                               {"createdAt", V::number_integer},
                               {"updatedAt", V::number_integer},
                               {"openJob", V::boolean}}) {
      if (auto c = need(k, t); !c) return c;
    }
    if (!domain::ParseSyncStatus(r["syncStatus"].get<std::string>())) {
      return tl::unexpected(BadLine(line, "unknown syncStatus"));
    }
    if (const auto v = domain::ValidateFields(r["fields"]); !v.empty()) {
      return tl::unexpected(BadLine(line, "assistant fields do not validate"));
    }
  } else if (type != "end") {
    return tl::unexpected(BadLine(line, "unknown record type \"" + type + "\""));
  }
  return {};
}

}  // namespace

Result<json> ExportAll(storage::UserStore& users, storage::KeyStore& keys, storage::SyncStore& sync,
                       const Clock& clock, std::ostream& out) {
  auto instance = sync.InstanceId();
  if (!instance) return tl::unexpected(instance.error());
  out << json{{"format", kFormat},
              {"version", 1},
              {"exportedAt", FormatTimestamp(clock.NowMicros())},
              {"instanceId", *instance}}
             .dump()
      << '\n';
  int64_t n_users = 0, n_keys = 0, n_assistants = 0;
  std::optional<domain::ListCursor> after;
  do {
    auto page = users.ListUsers(after, kPage);
    if (!page) return tl::unexpected(page.error());
    for (const auto& u : page->items) {
      json record = {{"type", "user"},
                     {"id", u.id},
                     {"email", Optional(u.email)},
                     {"role", std::string(ToString(u.role))},
                     {"createdAt", u.created_at_us},
                     {"updatedAt", u.updated_at_us}};
      // Accounts travel whole, password hash included (the file is as sensitive as the
      // database; docs/operations.md).
      if (u.password_hash) record["passwordHash"] = *u.password_hash;
      if (u.email_confirmed_at_us) record["emailConfirmedAt"] = *u.email_confirmed_at_us;
      if (u.last_sign_in_at_us) record["lastSignInAt"] = *u.last_sign_in_at_us;
      if (u.banned_until_us) record["bannedUntil"] = *u.banned_until_us;
      if (!u.user_metadata.empty()) record["userMetadata"] = u.user_metadata;
      if (!u.app_metadata.empty()) record["appMetadata"] = u.app_metadata;
      if (u.display_name) record["displayName"] = *u.display_name;
      if (!u.preferences.empty()) record["preferences"] = u.preferences;
      out << record.dump() << '\n';
      ++n_users;
    }
    after = page->next;
  } while (after);
  auto all_keys = keys.AllKeys();
  if (!all_keys) return tl::unexpected(all_keys.error());
  for (const auto& [owner, key] : *all_keys) {
    out << json{{"type", "vapiKey"},
                {"owner", owner},
                {"sealed", Base64UrlEncode(key.sealed)},
                {"last4", key.last4},
                {"updatedAt", key.updated_at_us}}
               .dump()
        << '\n';
    ++n_keys;
  }
  std::string last;
  for (;;) {
    auto page = sync.ScanAssistants(last, kPage);
    if (!page) return tl::unexpected(page.error());
    for (const auto& s : *page) {
      const auto& a = s.assistant;
      out << json{{"type", "assistant"},
                  {"id", a.id},
                  {"userId", a.user_id},
                  {"fields", a.fields},
                  {"vapiId", Optional(a.vapi_id)},
                  {"syncStatus", std::string(ToString(a.sync_status))},
                  {"syncError", Optional(a.sync_error)},
                  {"lastSyncedAt", Optional(a.last_synced_at_us)},
                  {"version", a.version},
                  {"createdAt", a.created_at_us},
                  {"updatedAt", a.updated_at_us},
                  {"openJob", s.open_job}}
                 .dump()
          << '\n';
      ++n_assistants;
    }
    if (page->size() < static_cast<size_t>(kPage)) break;
    last = page->back().assistant.id;
  }
  const json counts = {{"users", n_users}, {"vapiKeys", n_keys}, {"assistants", n_assistants}};
  out << json{{"type", "end"}, {"counts", counts}}.dump() << '\n';
  out.flush();
  if (!out) {
    return Fail(ErrorCode::kUnavailable, "write_failed", "could not write the export");
  }
  return counts;
}

Result<json> ImportAll(const std::string& path, storage::UserStore& users,
                       storage::AssistantStore& assistants, storage::KeyStore& keys,
                       storage::SyncStore& sync) {
  // Pass 1: the whole file is well-formed and complete before anything is written.
  std::string instance_id;
  json expected;
  {
    std::ifstream in(path);
    if (!in) return Fail(ErrorCode::kInvalidInput, "invalid_export", "cannot open " + path);
    std::string text;
    int64_t line = 0;
    json seen = {{"users", 0}, {"vapiKeys", 0}, {"assistants", 0}};
    // Every assistant's owner must be in the file (users come first): an orphan would fail
    // half-way through the writes, so it is refused here. Holds one id per user.
    std::unordered_set<std::string> user_ids;
    while (std::getline(in, text)) {
      ++line;
      auto r = ParseJsonStrict(text);
      if (!r || !r->is_object()) return tl::unexpected(BadLine(line, "not a JSON object"));
      if (line == 1) {
        if (StringOr(*r, "format") != kFormat || r->value("version", nlohmann::json()) != 1) {
          return tl::unexpected(BadLine(line, "not an assistantd export (version 1)"));
        }
        instance_id = StringOr(*r, "instanceId");
        continue;
      }
      if (!expected.is_null()) return tl::unexpected(BadLine(line, "data after the end record"));
      if (auto c = CheckRecord(*r, line); !c) return tl::unexpected(c.error());
      const std::string type = (*r)["type"];
      if (type == "user") user_ids.insert((*r)["id"].get<std::string>());
      if (type == "assistant" && !user_ids.contains((*r)["userId"].get<std::string>())) {
        return tl::unexpected(
            BadLine(line, "the assistant's owner is not among the users before it"));
      }
      if (type == "end") {
        expected = r->value("counts", json::object());
      } else {
        const char* bucket = type == "user"      ? "users"
                             : type == "vapiKey" ? "vapiKeys"
                                                 : "assistants";
        seen[bucket] = seen[bucket].get<int64_t>() + 1;
      }
    }
    if (expected.is_null()) {
      return Fail(ErrorCode::kInvalidInput, "invalid_export",
                  "the export has no end record: it is truncated");
    }
    if (expected != seen) {
      return Fail(ErrorCode::kInvalidInput, "invalid_export",
                  "the export's counts do not match its records: " + seen.dump());
    }
  }
  // Only into an empty database: ids and history must not mix.
  auto any_user = users.ListUsers(std::nullopt, 1);
  if (!any_user) return tl::unexpected(any_user.error());
  auto any_assistant = sync.ScanAssistants("", 1);
  if (!any_assistant) return tl::unexpected(any_assistant.error());
  if (!any_user->items.empty() || !any_assistant->empty()) {
    return Fail(ErrorCode::kConflict, "database_not_empty",
                "import needs an empty database; this one already has users or assistants");
  }
  if (!instance_id.empty()) {
    if (auto r = sync.SetInstanceId(instance_id); !r) return tl::unexpected(r.error());
  }
  // Pass 2: write, users first (assistants reference them).
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);  // the header
  while (std::getline(in, text)) {
    const json r = json::parse(text);
    const std::string type = r["type"];
    if (type == "user") {
      domain::User u;
      u.id = r["id"];
      if (r["email"].is_string()) u.email = r["email"].get<std::string>();
      u.role = domain::ParseRole(r["role"].get<std::string>()).value_or(domain::Role::kUser);
      u.created_at_us = r["createdAt"];
      u.updated_at_us = r["updatedAt"];
      const auto text_or = [&](const char* key) {
        return r.contains(key) && r[key].is_string()
                   ? std::optional<std::string>(r[key].get<std::string>())
                   : std::nullopt;
      };
      const auto time_or = [&](const char* key) {
        return r.contains(key) && r[key].is_number_integer()
                   ? std::optional<int64_t>(r[key].get<int64_t>())
                   : std::nullopt;
      };
      const auto object_or = [&](const char* key) {
        return r.contains(key) && r[key].is_object() ? r[key] : json::object();
      };
      u.password_hash = text_or("passwordHash");
      u.email_confirmed_at_us = time_or("emailConfirmedAt");
      u.last_sign_in_at_us = time_or("lastSignInAt");
      u.banned_until_us = time_or("bannedUntil");
      u.user_metadata = object_or("userMetadata");
      u.app_metadata = object_or("appMetadata");
      u.display_name = text_or("displayName");
      u.preferences = object_or("preferences");
      if (auto w = users.EnsureUser(u); !w) return tl::unexpected(w.error());
      if (auto w = users.UpdateUser(u, std::nullopt); !w) return tl::unexpected(w.error());
    } else if (type == "vapiKey") {
      auto sealed = Base64UrlDecode(r["sealed"].get<std::string>());
      if (!sealed)
        return Fail(ErrorCode::kInvalidInput, "invalid_export", "a sealed key is not base64url");
      if (auto w = keys.PutKey(r["owner"], {*sealed, r["last4"], r["updatedAt"]}, std::nullopt);
          !w) {
        return tl::unexpected(w.error());
      }
    } else if (type == "assistant") {
      domain::Assistant a;
      a.id = r["id"];
      a.user_id = r["userId"];
      a.fields = r["fields"];
      if (r.value("vapiId", json()).is_string()) a.vapi_id = r["vapiId"].get<std::string>();
      a.sync_status = *domain::ParseSyncStatus(r["syncStatus"].get<std::string>());
      if (r.value("syncError", json()).is_string())
        a.sync_error = r["syncError"].get<std::string>();
      if (r.value("lastSyncedAt", json()).is_number_integer()) {
        a.last_synced_at_us = r["lastSyncedAt"].get<int64_t>();
      }
      a.version = r["version"];
      a.created_at_us = r["createdAt"];
      a.updated_at_us = r["updatedAt"];
      if (auto w = assistants.Restore(a, r["openJob"].get<bool>()); !w) {
        return tl::unexpected(w.error());
      }
    }
  }
  return expected;
}

}  // namespace assistantd::app
