#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace assistantd::domain {

enum class Role { kUser, kPremium, kTest, kAdmin, kServiceRole };

std::string_view ToString(Role role);

// Our role for a JWT role name: "authenticated" and "user" are kUser. Unknown → nullopt.
std::optional<Role> ParseRole(std::string_view name);

// Who is making a request, established from a verified token.
struct Principal {
  Role role = Role::kUser;
  std::optional<std::string> user_id;  // absent only for service_role keys
  std::optional<std::string> email;
};

bool IsAdmin(const Principal& principal);

// What part of the assistants table a principal may touch. Enforced inside every storage
// query, so another user's assistant is simply not found.
struct AccessScope {
  std::optional<std::string> owner_id;  // only this owner's rows, when set
  bool test_only = false;               // only rows with metadata.is_test = true
};

AccessScope ScopeFor(const Principal& principal);

// Whether a row of `owner_id` (a test row or not) is inside `scope`: what every store's
// queries check, for rows read from elsewhere (the read cache).
bool InScope(const AccessScope& scope, std::string_view owner_id, bool is_test);

}  // namespace assistantd::domain
