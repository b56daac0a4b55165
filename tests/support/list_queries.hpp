#pragma once

// Every documented shape of GET /v1/assistants, for the plan tests of both backends: owner
// and admin, first page and cursor page, each filter and their combinations, the test role.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "domain/list_query.hpp"

namespace assistantd::testing {

// (label, query) pairs; `cursor_at_us` is the cursor pages' created_at and the upper bound of
// the created range.
inline std::vector<std::pair<std::string, domain::ListQuery>> DocumentedListQueries(
    const std::string& owner, int64_t cursor_at_us) {
  std::vector<std::pair<std::string, domain::ListQuery>> out;
  for (const bool admin : {false, true}) {
    domain::ListQuery base;
    if (!admin) base.scope.owner_id = owner;
    const std::string who = admin ? "admin" : "owner";
    for (const bool cursor : {false, true}) {
      domain::ListQuery q = base;
      if (cursor) q.after = domain::ListCursor{cursor_at_us, owner};
      const std::string c = who + (cursor ? " + cursor" : "");
      out.emplace_back(c, q);
      for (const auto status : {domain::SyncStatus::kPending, domain::SyncStatus::kFailed}) {
        domain::ListQuery s = q;
        s.sync_status = status;
        out.emplace_back(c + " + syncStatus", s);
        s.is_test = true;
        out.emplace_back(c + " + syncStatus + isTest", s);
      }
      domain::ListQuery t = q;
      t.is_test = false;
      out.emplace_back(c + " + isTest", t);
      for (const std::string term : {"bo", "bot", "rare term"}) {
        domain::ListQuery n = q;
        n.name_contains = term;
        out.emplace_back(c + " + q=" + term, n);
        n.sync_status = domain::SyncStatus::kFailed;
        n.created_after_us = 1;
        n.created_before_us = cursor_at_us;
        out.emplace_back(c + " + q=" + term + " + every filter", n);
      }
      domain::ListQuery range = q;
      range.created_after_us = 1;
      range.created_before_us = cursor_at_us;
      out.emplace_back(c + " + created range", range);
    }
  }
  domain::ListQuery test_role;
  test_role.scope.owner_id = owner;
  test_role.scope.test_only = true;
  out.emplace_back("test role", test_role);
  test_role.sync_status = domain::SyncStatus::kSynced;
  out.emplace_back("test role + syncStatus", test_role);
  return out;
}

}  // namespace assistantd::testing
