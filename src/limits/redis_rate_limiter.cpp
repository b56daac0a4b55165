#include "limits/redis_rate_limiter.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>

namespace assistantd::limits {
namespace {

// KEYS[1]: the window's counter; ARGV[1]: window length in ms. Returns {count, ms left}.
// Reserves up to ARGV[3] hits of the window KEYS[1] (ARGV[1] ms, ARGV[2] hits) for one
// instance, never past the limit, and at most an eighth of what is left (at least one), so
// instances share the end of a window; the first reservation starts the window. Returns the
// window's count after it, its time left and the hits granted (0: the window is full).
constexpr const char* kReserveScript =
    "local cur = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "local lim = tonumber(ARGV[2]) "
    "local grant = math.min(tonumber(ARGV[3]), math.max(1, math.floor((lim - cur) / 8))) "
    "if cur + grant > lim then grant = lim - cur end "
    "if grant < 0 then grant = 0 end "
    "local n = cur "
    "if grant > 0 then n = redis.call('INCRBY', KEYS[1], grant) end "
    "local ttl = redis.call('PTTL', KEYS[1]) "
    "if ttl < 0 and n > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end "
    "return {n, ttl, grant}";

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

timeval Timeval(int ms) { return timeval{ms / 1000, (ms % 1000) * 1000}; }

}  // namespace

struct RedisRateLimiter::Connection {
  explicit Connection(redisContext* c) : ctx(c) {}
  ~Connection() { redisFree(ctx); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  redisContext* ctx;
};

Result<RedisSettings> ParseRedisUrl(const std::string& url) {
  const auto bad = [] {
    return Fail(ErrorCode::kInvalidInput, "invalid_config",
                "--redis-url must look like redis://[:password@]host[:port][/db]");
  };
  constexpr std::string_view kScheme = "redis://";
  if (!std::string_view(url).starts_with(kScheme)) return bad();
  std::string rest = url.substr(kScheme.size());
  RedisSettings s;
  if (const auto at = rest.rfind('@'); at != std::string::npos) {
    std::string userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    s.password = colon == std::string::npos ? userinfo : userinfo.substr(colon + 1);
  }
  if (const auto slash = rest.find('/'); slash != std::string::npos) {
    const std::string db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), s.database);
      if (ec != std::errc() || p != db.data() + db.size() || s.database < 0) return bad();
    }
  }
  if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    const std::string port = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), s.port);
    if (ec != std::errc() || p != port.data() + port.size() || s.port <= 0 || s.port > 65535) {
      return bad();
    }
  }
  if (!rest.empty()) s.host = rest;
  return s;
}

RedisRateLimiter::RedisRateLimiter(RedisSettings settings, const Clock& clock, Logger logger,
                                   MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      clock_(clock),
      logger_(std::move(logger)),
      metrics_(metrics),
      fallback_(clock) {
  metrics_.DeclareCounter("assistantd_ratelimit_redis_fallbacks_total",
                          "Rate-limit decisions taken in process because Redis was unreachable");
  metrics_.DeclareCounter("assistantd_ratelimit_redis_reservations_total",
                          "Round trips to Redis that reserved hits for this instance (or found the "
                          "window full)");
}

RedisRateLimiter::~RedisRateLimiter() = default;

Result<std::unique_ptr<RedisRateLimiter::Connection>> RedisRateLimiter::Connect() const {
  const auto unavailable = [this](const std::string& why) {
    return Fail(ErrorCode::kUnavailable, "redis_unavailable",
                "cannot connect to Redis at " + settings_.host + ":" +
                    std::to_string(settings_.port) + ": " + why);
  };
  redisContext* raw = redisConnectWithTimeout(settings_.host.c_str(), settings_.port,
                                              Timeval(settings_.timeout_ms));
  if (!raw) return unavailable("out of memory");
  auto conn = std::make_unique<Connection>(raw);
  if (raw->err) return unavailable(raw->errstr);
  redisSetTimeout(raw, Timeval(settings_.timeout_ms));
  if (!settings_.password.empty()) {
    Reply r(static_cast<redisReply*>(redisCommand(raw, "AUTH %s", settings_.password.c_str())));
    if (!r || r->type == REDIS_REPLY_ERROR) return unavailable("authentication failed");
  }
  if (settings_.database != 0) {
    Reply r(static_cast<redisReply*>(redisCommand(raw, "SELECT %d", settings_.database)));
    if (!r || r->type == REDIS_REPLY_ERROR) return unavailable("cannot select the database");
  }
  return conn;
}

Result<void> RedisRateLimiter::Check() {
  auto conn = Connect();
  if (!conn) return tl::unexpected(conn.error());
  Reply r(static_cast<redisReply*>(redisCommand((*conn)->ctx, "PING")));
  if (!r || r->type == REDIS_REPLY_ERROR) {
    return Fail(ErrorCode::kUnavailable, "redis_unavailable", "Redis did not answer PING");
  }
  Return(std::move(*conn));
  return {};
}

std::unique_ptr<RedisRateLimiter::Connection> RedisRateLimiter::Borrow() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    if (degraded_ && clock_.NowMicros() < retry_after_us_) return nullptr;
  }
  auto conn = Connect();
  return conn ? std::move(*conn) : nullptr;
}

void RedisRateLimiter::Return(std::unique_ptr<Connection> conn) {
  std::lock_guard lock(mu_);
  if (idle_.size() < 16) idle_.push_back(std::move(conn));
}

std::string RedisRateLimiter::FullKey(std::string_view key, const RateLimit& limit) const {
  return settings_.key_prefix + std::string(key) + ":" + std::to_string(limit.window_seconds);
}

std::optional<RateDecision> RedisRateLimiter::Decide(const std::string& full_key,
                                                     const RateLimit& limit, int64_t now,
                                                     int64_t* want) {
  const auto seconds_until = [now](int64_t until_us) {
    return std::max<int64_t>(1, (until_us - now + 999'999) / 1'000'000);
  };
  {
    std::lock_guard lock(mu_);
    // Hits this instance reserved in Redis earlier in the window are spent without a round
    // trip: every one of them is already counted there, so the bound stays exact.
    if (const auto it = leases_.find(full_key); it != leases_.end()) {
      Lease& lease = it->second;
      if (lease.until_us > now && lease.limit == limit.limit) {
        if (lease.used < lease.granted) {
          ++lease.used;
          return RateDecision{
              true, limit.limit,
              std::max<int64_t>(0, limit.limit - lease.count) + (lease.granted - lease.used),
              seconds_until(lease.until_us)};
        }
        // Used up within its window: this key is busy here, so reserve more next time.
        if (!want) return std::nullopt;
        *want = std::min(kMaxReservation, lease.granted * 2);
      }
      if (!want) return std::nullopt;
      leases_.erase(it);
    }
    const auto it = blocked_.find(full_key);
    if (it != blocked_.end()) {
      if (it->second.until_us > now && it->second.limit == limit.limit) {
        return RateDecision{false, limit.limit, 0, seconds_until(it->second.until_us)};
      }
      if (!want) return std::nullopt;
      blocked_.erase(it);
    }
  }
  return std::nullopt;
}

std::optional<RateDecision> RedisRateLimiter::TryHit(std::string_view key, const RateLimit& limit) {
  if (limit.limit <= 0) return RateDecision{true, 0, 0, 0};
  return Decide(FullKey(key, limit), limit, clock_.NowMicros(), nullptr);
}

RateDecision RedisRateLimiter::Hit(std::string_view key, const RateLimit& limit) {
  if (limit.limit <= 0) return RateDecision{true, 0, 0, 0};
  const std::string full_key = FullKey(key, limit);
  const int64_t now = clock_.NowMicros();
  const auto seconds_until = [now](int64_t until_us) {
    return std::max<int64_t>(1, (until_us - now + 999'999) / 1'000'000);
  };
  int64_t want = 1;
  if (auto decided = Decide(full_key, limit, now, &want)) return *decided;
  auto conn = Borrow();
  Reply reply;
  if (conn) {
    const std::string window_ms = std::to_string(limit.window_seconds * 1000);
    const std::string max = std::to_string(limit.limit);
    const std::string wanted = std::to_string(want);
    reply.reset(static_cast<redisReply*>(redisCommand(
        conn->ctx, "EVAL %s 1 %b %b %b %b", kReserveScript, full_key.data(), full_key.size(),
        window_ms.data(), window_ms.size(), max.data(), max.size(), wanted.data(), wanted.size())));
  }
  const bool ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
                  reply->element[0]->type == REDIS_REPLY_INTEGER &&
                  reply->element[1]->type == REDIS_REPLY_INTEGER &&
                  reply->element[2]->type == REDIS_REPLY_INTEGER;
  if (!ok) {
    // A broken connection is dropped; a refused script keeps it (Redis answered).
    const bool answered = reply != nullptr;
    {
      std::lock_guard lock(mu_);
      if (!degraded_) {
        LogEvent(logger_, spdlog::level::warn,
                 "Redis unreachable: rate limits are counted per instance until it is back",
                 {{"host", settings_.host}, {"port", settings_.port}});
      }
      degraded_ = true;
      retry_after_us_ = clock_.NowMicros() + 1'000'000;
    }
    if (answered && conn) Return(std::move(conn));
    metrics_.Counter("assistantd_ratelimit_redis_fallbacks_total").Inc();
    return fallback_.Hit(key, limit);
  }
  const int64_t count = reply->element[0]->integer;
  const int64_t ttl_ms = reply->element[1]->integer;
  const int64_t granted = reply->element[2]->integer;
  Return(std::move(conn));
  metrics_.Counter("assistantd_ratelimit_redis_reservations_total").Inc();
  const int64_t until = now + std::max<int64_t>(1, ttl_ms) * 1000;
  std::lock_guard lock(mu_);
  if (degraded_) {
    LogEvent(logger_, spdlog::level::info, "Redis reachable again: rate limits are shared", {});
    degraded_ = false;
  }
  const auto bound = [now](auto& map) {
    if (map.size() > 100'000) {
      std::erase_if(map, [now](const auto& kv) { return kv.second.until_us <= now; });
    }
  };
  if (granted <= 0) {
    // The window is full, and its count only grows: refused here without a round trip (a
    // flood costs Redis nothing) until it ends.
    bound(blocked_);
    blocked_[full_key] = Blocked{until, limit.limit};
    return RateDecision{false, limit.limit, 0, seconds_until(until)};
  }
  bound(leases_);
  // Another request here may have reserved meanwhile: its unspent hits are kept beside ours
  // (overwriting them would lose hits counted in Redis, admitting fewer than the limit).
  Lease& lease = leases_[full_key];
  if (lease.until_us > now && lease.limit == limit.limit) {
    lease.granted += granted;
    lease.used += 1;
    lease.count = std::max(lease.count, count);
  } else {
    lease = Lease{until, limit.limit, granted, 1, count};
  }
  return RateDecision{true, limit.limit,
                      std::max<int64_t>(0, limit.limit - lease.count) + lease.granted - lease.used,
                      seconds_until(lease.until_us)};
}

}  // namespace assistantd::limits
