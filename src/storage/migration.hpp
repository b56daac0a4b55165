#pragma once

#include <span>

namespace assistantd::storage {

// One numbered schema change, applied once in its own transaction.
struct Migration {
  int version;
  const char* name;
  const char* sql;
};

}  // namespace assistantd::storage
