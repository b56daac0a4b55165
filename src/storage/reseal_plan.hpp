#pragma once

#include <string>
#include <utility>
#include <vector>

#include "storage/storage.hpp"

namespace assistantd::storage {

// One value sealed with the master key: a stored Vapi key (id: its owner) or the key an open
// sync job carries (id: the job's).
struct SealedRow {
  bool job = false;
  std::string id;
  std::string sealed;
};

// What KeyStore::Reseal writes, decided once for every backend.
struct ResealPlan {
  std::vector<std::pair<SealedRow, std::string>> updates;  // row, its new sealed value
  KeyStore::ResealCounts counts;
};

inline Result<ResealPlan> PlanReseal(std::vector<SealedRow> rows,
                                     const KeyStore::ResealFn& reseal) {
  ResealPlan plan;
  for (auto& row : rows) {
    auto next = reseal(row.sealed);
    if (!next) return tl::unexpected(next.error());
    if (!*next) {
      ++plan.counts.unchanged;
      continue;
    }
    ++(row.job ? plan.counts.job_keys : plan.counts.stored_keys);
    std::string value = std::move(**next);
    plan.updates.emplace_back(std::move(row), std::move(value));
  }
  return plan;
}

}  // namespace assistantd::storage
