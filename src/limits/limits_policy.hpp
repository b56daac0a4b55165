#pragma once

#include <cstdint>

#include "domain/principal.hpp"
#include "limits/rate_limiter.hpp"

namespace assistantd::limits {

// What one role may do: how many assistants it may own (0: unlimited) and how many API
// requests it may make per window (limit 0: unlimited).
struct RoleLimits {
  int64_t max_assistants = 0;
  RateLimit requests;
};

// Quotas per role (C11; `test` above `user`, `premium` above that, admins unlimited) and the
// limits on the Supabase Auth endpoints, which protect passwords from guessing.
struct LimitsSettings {
  RoleLimits user{100, {600, 60}};
  RoleLimits test{1000, {1200, 60}};
  RoleLimits premium{5000, {3000, 60}};
  RoleLimits admin{0, {0, 60}};
  RateLimit token_per_ip{150, 300};        // password sign-ins and refreshes per client IP
  RateLimit signup_per_ip{30, 300};        // sign-ups per client IP
  RateLimit signin_per_account{10, 300};   // password sign-ins (and sign-ups) per e-mail
  RateLimit refresh_per_account{60, 300};  // refresh-token grants per account
};

inline const RoleLimits& LimitsFor(const LimitsSettings& s, domain::Role role) {
  switch (role) {
    case domain::Role::kUser:
      return s.user;
    case domain::Role::kTest:
      return s.test;
    case domain::Role::kPremium:
      return s.premium;
    case domain::Role::kAdmin:
    case domain::Role::kServiceRole:
      return s.admin;
  }
  return s.user;
}

}  // namespace assistantd::limits
