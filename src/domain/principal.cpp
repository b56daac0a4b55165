#include "domain/principal.hpp"

namespace assistantd::domain {

std::string_view ToString(Role role) {
  switch (role) {
    case Role::kUser:
      return "user";
    case Role::kPremium:
      return "premium";
    case Role::kTest:
      return "test";
    case Role::kAdmin:
      return "admin";
    case Role::kServiceRole:
      return "service_role";
  }
  return "user";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "user" || name == "authenticated") return Role::kUser;
  if (name == "premium") return Role::kPremium;
  if (name == "test") return Role::kTest;
  if (name == "admin") return Role::kAdmin;
  if (name == "service_role") return Role::kServiceRole;
  return std::nullopt;
}

bool IsAdmin(const Principal& p) { return p.role == Role::kAdmin || p.role == Role::kServiceRole; }

AccessScope ScopeFor(const Principal& p) {
  if (IsAdmin(p)) return {};
  return AccessScope{p.user_id, p.role == Role::kTest};
}

bool InScope(const AccessScope& scope, std::string_view owner_id, bool is_test) {
  if (scope.owner_id && *scope.owner_id != owner_id) return false;
  return !scope.test_only || is_test;
}

}  // namespace assistantd::domain
