#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/assistant.hpp"
#include "domain/principal.hpp"

namespace assistantd::domain {

inline constexpr int kDefaultListLimit = 20;
inline constexpr int kMaxListLimit = 100;

// Position after the last row of a page in the (created_at desc, id desc) order.
struct ListCursor {
  int64_t created_at_us = 0;
  std::string id;
};

std::string EncodeCursor(const ListCursor& cursor);
std::optional<ListCursor> DecodeCursor(std::string_view text);

struct ListQuery {
  AccessScope scope;
  std::optional<ListCursor> after;
  int limit = kDefaultListLimit;
  std::optional<std::string> name_contains;
  std::optional<SyncStatus> sync_status;
  std::optional<bool> is_test;
  std::optional<int64_t> created_after_us;   // exclusive
  std::optional<int64_t> created_before_us;  // exclusive
};

struct ListPage {
  std::vector<Assistant> items;
  std::optional<ListCursor> next;
};

// Keyset paging: stores fetch `limit + 1` rows; this drops the extra one and returns the
// cursor after the last kept row when there is more. T has `created_at_us` and `id`.
template <class T>
std::optional<ListCursor> TrimToPage(std::vector<T>& rows, int limit) {
  if (rows.size() <= static_cast<size_t>(limit)) return std::nullopt;
  rows.resize(static_cast<size_t>(limit));
  return ListCursor{rows.back().created_at_us, rows.back().id};
}

}  // namespace assistantd::domain
