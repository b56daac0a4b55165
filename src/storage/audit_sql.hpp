#pragma once

#include <functional>
#include <string>
#include <vector>

#include "storage/storage.hpp"

namespace assistantd::storage {

// How a backend spells the n-th (1-based) placeholder holding text, an integer, a time in
// microseconds since the epoch, and a user id. Every value is bound as text.
struct Placeholders {
  std::function<std::string(int)> text;
  std::function<std::string(int)> integer;
  std::function<std::string(int)> time;
  std::function<std::string(int)> user_id;
};

// The WHERE/ORDER/LIMIT tail of an audit query, shared by the backends, and its values in
// placeholder order.
struct AuditSql {
  std::string tail;
  std::vector<std::string> values;
};

inline AuditSql BuildAuditQuery(const AuditQuery& q, const Placeholders& p) {
  AuditSql out;
  std::string where;
  const auto add = [&](const std::string& condition) {
    where += (where.empty() ? " WHERE " : " AND ") + condition;
  };
  const auto next = [&](std::string value) {
    out.values.push_back(std::move(value));
    return static_cast<int>(out.values.size());
  };
  if (q.subject_or_actor) {
    // Bound twice: positional placeholders (SQLite's ?) take one value each.
    const int subject = next(*q.subject_or_actor);
    const int actor = next(*q.subject_or_actor);
    add("(subject_user_id = " + p.user_id(subject) + " OR actor_id = " + p.user_id(actor) + ")");
  }
  if (q.actor_id) add("actor_id = " + p.user_id(next(*q.actor_id)));
  if (q.action) add("action = " + p.text(next(*q.action)));
  if (q.target_id) add("target_id = " + p.text(next(*q.target_id)));
  if (q.since_us) add("at >= " + p.time(next(std::to_string(*q.since_us))));
  if (q.until_us) add("at < " + p.time(next(std::to_string(*q.until_us))));
  if (q.before_seq) add("seq < " + p.integer(next(std::to_string(*q.before_seq))));
  add("seq IS NOT NULL");  // sealed entries only (see PgAuditStore)
  out.tail = where + " ORDER BY seq DESC LIMIT " + p.integer(next(std::to_string(q.limit)));
  return out;
}

}  // namespace assistantd::storage
