#include "limits/rate_limiter.hpp"

#include <charconv>

namespace assistantd::limits {

std::vector<std::pair<std::string, std::string>> RateLimitHeaders(std::string_view name,
                                                                  const RateLimit& limit,
                                                                  const RateDecision& decision) {
  const std::string quoted = "\"" + std::string(name) + "\"";
  std::vector<std::pair<std::string, std::string>> headers = {
      {"RateLimit-Policy",
       quoted + ";q=" + std::to_string(limit.limit) + ";w=" + std::to_string(limit.window_seconds)},
      {"RateLimit", quoted + ";r=" + std::to_string(decision.remaining) +
                        ";t=" + std::to_string(decision.reset_seconds)}};
  if (!decision.allowed)
    headers.emplace_back("Retry-After", std::to_string(decision.reset_seconds));
  return headers;
}

bool ParseRateLimit(std::string_view text, RateLimit& out) {
  if (text == "0" || text == "off") {
    out = RateLimit{0, 60};
    return true;
  }
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  int64_t count = 0;
  const auto count_text = text.substr(0, slash);
  auto [p, ec] = std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
  if (ec != std::errc() || p != count_text.data() + count_text.size() || count < 0) return false;
  auto period = text.substr(slash + 1);
  int64_t unit = 1;
  if (!period.empty()) {
    switch (period.back()) {
      case 's':
        unit = 1;
        period.remove_suffix(1);
        break;
      case 'm':
        unit = 60;
        period.remove_suffix(1);
        break;
      case 'h':
        unit = 3600;
        period.remove_suffix(1);
        break;
      default:
        break;
    }
  }
  int64_t amount = 1;
  if (!period.empty()) {
    auto [q, ec2] = std::from_chars(period.data(), period.data() + period.size(), amount);
    if (ec2 != std::errc() || q != period.data() + period.size()) return false;
  }
  if (amount <= 0 || amount * unit > 86'400) return false;
  out = RateLimit{count, amount * unit};
  return true;
}

}  // namespace assistantd::limits
