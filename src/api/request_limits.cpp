#include "api/request_limits.hpp"

namespace assistantd::api {

Result<std::vector<std::pair<std::string, std::string>>> RequestLimits::Admit(
    const domain::Principal& principal, bool may_block) {
  const auto& limit = limits::LimitsFor(settings_, principal.role).requests;
  if (limit.limit <= 0) return std::vector<std::pair<std::string, std::string>>{};
  const std::string key =
      "requests:" + (principal.user_id ? *principal.user_id
                                       : "role-" + std::string(domain::ToString(principal.role)));
  std::optional<limits::RateDecision> decided;
  if (may_block) {
    decided = limiter_.Hit(key, limit);
  } else if (decided = limiter_.TryHit(key, limit); !decided) {
    return WouldBlock();
  }
  const auto& decision = *decided;
  auto headers = limits::RateLimitHeaders("requests", limit, decision);
  if (decision.allowed) return headers;
  Error e{ErrorCode::kRateLimited,
          "rate_limited",
          "Too many requests: " + std::to_string(limit.limit) + " per " +
              std::to_string(limit.window_seconds) + " s for this account; retry in " +
              std::to_string(decision.reset_seconds) + " s",
          nlohmann::json::array({{{"limit", limit.limit},
                                  {"windowSeconds", limit.window_seconds},
                                  {"retryAfterSeconds", decision.reset_seconds}}}),
          {}};
  e.headers = std::move(headers);
  return tl::unexpected(std::move(e));
}

}  // namespace assistantd::api
