#pragma once

// Row mappers written once for both backends. Each backend selects the same columns in the
// same order (its SQL differs: casts, timestamp conversions), and hands its row to these
// through a small adaptor with one vocabulary:
//   IsNull(c), Text(c), OptionalText(c), Int(c), OptionalInt(c), Bytes(c), Bool(c),
//   Number(c) (a JSON number, integral when the stored value is).
// SqliteRow and PgRow (in each backend's database header) are those adaptors.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "domain/assistant.hpp"
#include "domain/assistant_fields.hpp"
#include "domain/audit_entry.hpp"
#include "domain/user.hpp"
#include "storage/json_columns.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

// users: id, email, role, created_at, updated_at, password_hash, email_confirmed_at,
// last_sign_in_at, banned_until, user_metadata, app_metadata, display_name, preferences.
template <class Row>
domain::User ReadUser(const Row& r) {
  domain::User u;
  u.id = r.Text(0);
  u.email = r.OptionalText(1);
  u.role = domain::ParseRole(r.Text(2)).value_or(domain::Role::kUser);
  u.created_at_us = r.Int(3);
  u.updated_at_us = r.Int(4);
  u.password_hash = r.OptionalText(5);
  u.email_confirmed_at_us = r.OptionalInt(6);
  u.last_sign_in_at_us = r.OptionalInt(7);
  u.banned_until_us = r.OptionalInt(8);
  u.user_metadata = JsonObjectColumn(r.Text(9));
  u.app_metadata = JsonObjectColumn(r.Text(10));
  u.display_name = r.OptionalText(11);
  u.preferences = JsonObjectColumn(r.Text(12));
  return u;
}

// auth_sessions: id, user_id, signed_in_at, created_at, refreshed_at.
template <class Row>
AuthSession ReadSession(const Row& r) {
  return AuthSession{r.Text(0), r.Text(1), r.Int(2), r.Int(3), r.Int(4)};
}

// sync_jobs: id, assistant_id, user_id, vapi_id, state, attempts, next_attempt_at,
// create_sent_at, last_error, created_at, updated_at, api_key_sealed, lease_until.
template <class Row>
SyncJob ReadJob(const Row& r) {
  SyncJob j;
  j.id = r.Int(0);
  j.assistant_id = r.Text(1);
  j.user_id = r.Text(2);
  j.vapi_id = r.OptionalText(3);
  j.state = r.Text(4);
  j.attempts = static_cast<int>(r.Int(5));
  j.next_attempt_at_us = r.Int(6);
  j.create_sent_at_us = r.OptionalInt(7);
  j.last_error = r.OptionalText(8);
  j.created_at_us = r.Int(9);
  j.updated_at_us = r.Int(10);
  if (!r.IsNull(11)) j.api_key_sealed = r.Bytes(11);
  j.lease_until_us = r.OptionalInt(12);
  return j;
}

// assistants, from column `first`: id, user_id, the client fields in AssistantFields() order,
// then is_test, vapi_id, sync_status, sync_error, last_synced_at, version, created_at,
// updated_at.
template <class Row>
Result<domain::Assistant> ReadAssistant(const Row& r, int first = 0) {
  using domain::StorageType;
  domain::Assistant a;
  a.id = r.Text(first);
  a.user_id = r.Text(first + 1);
  int col = first + 2;
  for (const auto& spec : domain::AssistantFields()) {
    const int c = col++;
    if (r.IsNull(c)) continue;
    const std::string key(spec.wire);
    switch (spec.storage) {
      case StorageType::kText:
        a.fields[key] = r.Text(c);
        break;
      case StorageType::kBoolean:
        a.fields[key] = r.Bool(c);
        break;
      case StorageType::kNumber:
        a.fields[key] = r.Number(c);
        if (a.fields[key].is_discarded()) {
          return Internal("corrupt number in column " + std::string(spec.column));
        }
        break;
      case StorageType::kJson: {
        auto parsed = nlohmann::json::parse(r.Text(c), nullptr, /*allow_exceptions=*/false);
        if (parsed.is_discarded()) {
          return Internal("corrupt JSON in column " + std::string(spec.column));
        }
        a.fields[key] = std::move(parsed);
        break;
      }
    }
  }
  ++col;  // is_test: derived from metadata
  a.vapi_id = r.OptionalText(col++);
  a.sync_status = domain::ParseSyncStatus(r.Text(col++)).value_or(domain::SyncStatus::kPending);
  a.sync_error = r.OptionalText(col++);
  a.last_synced_at_us = r.OptionalInt(col++);
  a.version = r.Int(col++);
  a.created_at_us = r.Int(col++);
  a.updated_at_us = r.Int(col++);
  return a;
}

// audit_log, from column `first`: seq, at, actor_id, actor_role, action, target_type,
// target_id, subject_user_id, request_id, ip, before, after, prev_hash, hash. An entry not yet
// sealed (PostgreSQL) has no seq and no hashes.
template <class Row>
domain::AuditEntry ReadAuditEntry(const Row& r, int first = 0) {
  const auto c = [first](int i) { return first + i; };
  domain::AuditEntry e;
  e.seq = r.OptionalInt(c(0)).value_or(0);
  e.at_us = r.Int(c(1));
  e.actor_id = r.OptionalText(c(2));
  e.actor_role = r.Text(c(3));
  e.action = r.Text(c(4));
  e.target_type = r.Text(c(5));
  e.target_id = r.OptionalText(c(6));
  e.subject_user_id = r.OptionalText(c(7));
  e.request_id = r.Text(c(8));
  e.ip = r.Text(c(9));
  e.before = NullableJsonColumn(r.OptionalText(c(10)));
  e.after = NullableJsonColumn(r.OptionalText(c(11)));
  e.prev_hash = r.OptionalText(c(12)).value_or("");
  e.hash = r.OptionalText(c(13)).value_or("");
  return e;
}

// A LIKE pattern's literal text (the statement says ESCAPE '\').
inline std::string EscapeLike(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace assistantd::storage
