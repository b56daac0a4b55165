#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "domain/principal.hpp"

namespace assistantd::domain {

// A user known to assistantd: created on its first authenticated request.
struct User {
  std::string id;
  std::optional<std::string> email;
  Role role = Role::kUser;
  int64_t created_at_us = 0;
  int64_t updated_at_us = 0;
};

}  // namespace assistantd::domain
