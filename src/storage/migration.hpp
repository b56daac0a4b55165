#pragma once

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace assistantd::storage {

// One numbered schema change, applied once in its own transaction.
struct Migration {
  int version;
  const char* name;
  const char* sql;
  // The oldest schema version whose binaries still run once this is applied. 0 (the rule,
  // "expand"): every earlier release keeps working. A "contract" migration, one that removes
  // or changes what an earlier release reads, declares `-- min-reader-version: N` in its file.
  int min_reader_version = 0;
};

// One row of schema_migrations.
struct AppliedMigration {
  int version = 0;
  std::string name;
  int64_t applied_at = 0;  // Unix seconds
  int min_reader_version = 0;
};

// How a database's schema stands against what this binary knows (`migrate --status`, start-up).
struct SchemaStatus {
  int applied = 0;                        // the newest version recorded in the database
  int known = 0;                          // the newest version this binary has
  std::vector<const Migration*> pending;  // known, not applied yet
  std::vector<AppliedMigration> newer;    // applied by a newer release
  int required_reader = 0;                // the oldest schema version allowed to run on it
  bool compatible() const { return required_reader <= known; }
  bool up_to_date() const { return pending.empty(); }
};

inline SchemaStatus CompareSchema(std::span<const Migration> known,
                                  std::span<const AppliedMigration> applied) {
  SchemaStatus s;
  for (const auto& m : known) s.known = std::max(s.known, m.version);
  for (const auto& a : applied) {
    s.applied = std::max(s.applied, a.version);
    s.required_reader = std::max(s.required_reader, a.min_reader_version);
    if (a.version > s.known) s.newer.push_back(a);
  }
  for (const auto& m : known) {
    const bool done = std::any_of(applied.begin(), applied.end(), [&](const AppliedMigration& a) {
      return a.version == m.version;
    });
    if (!done) s.pending.push_back(&m);
  }
  return s;
}

// Refuses to run on a schema a newer release changed in a way this binary cannot read.
inline Result<void> CheckCanRunOn(const SchemaStatus& s) {
  if (s.compatible()) return {};
  return Fail(ErrorCode::kUnavailable, "schema_too_new",
              "the database's schema (version " + std::to_string(s.applied) +
                  ") needs a release that knows schema version " +
                  std::to_string(s.required_reader) + " or later; this binary knows " +
                  std::to_string(s.known));
}

inline nlohmann::json ToJson(const SchemaStatus& s) {
  auto pending = nlohmann::json::array();
  for (const auto* m : s.pending) pending.push_back({{"version", m->version}, {"name", m->name}});
  auto newer = nlohmann::json::array();
  for (const auto& a : s.newer) {
    newer.push_back({{"version", a.version},
                     {"name", a.name},
                     {"appliedAt", a.applied_at},
                     {"minReaderVersion", a.min_reader_version}});
  }
  const char* state = !s.compatible()    ? "too_new"
                      : !s.up_to_date()  ? "pending"
                      : !s.newer.empty() ? "newer_compatible"
                                         : "up_to_date";
  return {{"state", state},
          {"appliedVersion", s.applied},
          {"knownVersion", s.known},
          {"requiredReaderVersion", s.required_reader},
          {"pending", std::move(pending)},
          {"newer", std::move(newer)}};
}

}  // namespace assistantd::storage
