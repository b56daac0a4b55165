#pragma once

#include "http/pipeline.hpp"
#include "limits/limits_policy.hpp"
#include "limits/rate_limiter.hpp"

namespace assistantd::api {

// Requests per window per caller, by role (C11): every authenticated request counts against
// its user (or, for service keys without a user, against the role), and answers carry the
// RateLimit headers; over the limit, 429 rate_limited with Retry-After.
class RequestLimits final : public http::Admission {
 public:
  RequestLimits(limits::RateLimiter& limiter, const limits::LimitsSettings& settings)
      : limiter_(limiter), settings_(settings) {}

  Result<std::vector<std::pair<std::string, std::string>>> Admit(const domain::Principal& principal,
                                                                 bool may_block) override;

 private:
  limits::RateLimiter& limiter_;
  const limits::LimitsSettings& settings_;
};

}  // namespace assistantd::api
