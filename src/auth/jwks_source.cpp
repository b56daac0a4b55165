#include "auth/jwks_source.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "common/ascii.hpp"
#include "common/json_util.hpp"
#include "common/thread_name.hpp"
#include "net/curl_exchange.hpp"

namespace assistantd::auth {
namespace {

// localhost, 127.0.0.0/8 or ::1 (an address, not a name that merely starts with 127.).
bool IsLoopbackHost(std::string host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

}  // namespace

std::optional<int64_t> CacheControlMaxAge(std::string_view header) {
  const std::string cache_control = AsciiLower(header);
  if (cache_control.find("no-store") != std::string::npos ||
      cache_control.find("no-cache") != std::string::npos) {
    return 0;
  }
  // "max-age=N", not s-maxage (a shared cache's) nor a directive merely ending in it.
  for (size_t at = cache_control.find("max-age="); at != std::string::npos;
       at = cache_control.find("max-age=", at + 1)) {
    if (at > 0 && cache_control[at - 1] != ' ' && cache_control[at - 1] != ',') continue;
    const char* begin = cache_control.data() + at + 8;
    int64_t value = 0;
    const auto [ptr, ec] =
        std::from_chars(begin, cache_control.data() + cache_control.size(), value);
    if (ec != std::errc() || ptr == begin || value < 0) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

Result<void> CheckJwksUrl(const std::string& url) {
  CURLU* u = curl_url();
  if (!u) return Fail(ErrorCode::kInternal, "curl", "curl_url failed");
  const bool parsed = curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK;
  char* scheme = nullptr;
  char* host = nullptr;
  if (parsed) {
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(u, CURLUPART_HOST, &host, 0);
  }
  const std::string s = scheme ? AsciiLower(scheme) : "";
  const std::string h = host ? AsciiLower(host) : "";
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  if (!parsed || h.empty()) {
    return Fail(ErrorCode::kInvalidInput, "invalid_config", "--jwks-url is not a valid URL");
  }
  if (s == "https" || (s == "http" && IsLoopbackHost(h))) return {};
  return Fail(ErrorCode::kInvalidInput, "invalid_config",
              "--jwks-url must use https (http is allowed only for loopback addresses)");
}

JwksSource::JwksSource(JwksSourceSettings settings, KeyRegistry& registry, const Clock& clock,
                       Logger logger, MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      registry_(registry),
      clock_(clock),
      logger_(std::move(logger)),
      metrics_(metrics) {
  net::EnsureCurlInitialised();
  metrics_.DeclareCounter("assistantd_jwks_refresh_total",
                          "Fetches of the --jwks-url key set by result (ok, error)");
  metrics_.DeclareGauge("assistantd_jwks_keys", "Keys held from --jwks-url", [this] {
    std::lock_guard lock(mu_);
    return static_cast<double>(key_count_);
  });
  metrics_.DeclareGauge("assistantd_jwks_last_success_timestamp_seconds",
                        "When --jwks-url last answered a usable key set (Unix time)", [this] {
                          std::lock_guard lock(mu_);
                          return static_cast<double>(last_success_s_);
                        });
  registry_.SetUnknownKidRefresher([this] { return RefreshForUnknownKid(); });
}

JwksSource::~JwksSource() {
  registry_.SetUnknownKidRefresher(nullptr);
  Stop();
}

Result<JwksSource::Fetched> JwksSource::Fetch() const {
  net::CurlRequest request;
  request.url = settings_.url;
  request.headers = {"Accept: application/json"};
  request.connect_timeout_ms = settings_.connect_timeout_ms;
  request.timeout_ms = settings_.timeout_ms;
  request.max_response_bytes = settings_.max_bytes;
  request.capture = {"cache-control"};
  request.user_agent = "assistantd-jwks";
  const net::CurlAnswer answer = net::CurlSession().Perform(request);
  const auto fail = [](std::string why) {
    return Fail(ErrorCode::kUnavailable, "jwks_unavailable", std::move(why));
  };
  if (answer.too_large) {
    return fail("the key set is larger than " + std::to_string(settings_.max_bytes) + " bytes");
  }
  if (!answer.ok) return fail(answer.error);
  if (answer.status != 200) return fail("HTTP status " + std::to_string(answer.status));
  auto doc = ParseJsonStrict(answer.body, 8);
  if (!doc) return fail("the answer is not JSON");
  std::vector<std::string> skipped;
  auto keys = ParseJwks(*doc, KeyOrigin::kExternal, &skipped);
  if (!keys) return fail(keys.error().message);
  std::erase_if(*keys, [&](const VerificationKey& k) {
    if (!IsHmac(k.algorithm())) return false;
    skipped.push_back(k.kid() + ": symmetric keys are never taken from a URL");
    return true;
  });
  if (keys->empty()) return fail("the JWK Set has no usable public key");
  for (const auto& s : skipped) {
    LogEvent(logger_, spdlog::level::warn, "JWKS key skipped", {{"reason", s}});
  }
  const auto cc = answer.headers.find("cache-control");
  const auto advertised =
      cc == answer.headers.end() ? std::nullopt : CacheControlMaxAge(cc->second);
  const int64_t max_age = std::clamp(advertised.value_or(settings_.default_max_age_s),
                                     settings_.min_max_age_s, settings_.max_max_age_s);
  return Fetched{std::move(*keys), max_age};
}

Result<void> JwksSource::Refresh(const char* reason) {
  auto fetched = Fetch();
  const int64_t now = clock_.NowMicros();
  std::lock_guard lock(mu_);
  if (!fetched) {
    metrics_.Counter("assistantd_jwks_refresh_total", {{"result", "error"}}).Inc();
    next_due_us_ = now + settings_.retry_after_failure_s * 1'000'000;
    return tl::unexpected(fetched.error());
  }
  metrics_.Counter("assistantd_jwks_refresh_total", {{"result", "ok"}}).Inc();
  next_due_us_ = now + fetched->max_age_s * 1'000'000;
  key_count_ = fetched->keys.size();
  last_success_s_ = now / 1'000'000;
  registry_.SetPart("jwks-url", std::move(fetched->keys));
  LogEvent(logger_, spdlog::level::debug, "JWKS refreshed",
           {{"keys", key_count_}, {"maxAgeSeconds", fetched->max_age_s}, {"trigger", reason}});
  return {};
}

bool JwksSource::RefreshOrWarn(const char* reason) {
  auto done = Refresh(reason);
  if (done) return true;
  std::lock_guard lock(mu_);
  LogEvent(logger_, spdlog::level::warn,
           key_count_ > 0 ? "JWKS refresh failed; keeping the last good keys"
                          : "JWKS refresh failed; no keys from --jwks-url yet",
           {{"reason", done.error().message}, {"trigger", reason}, {"keys", key_count_}});
  return false;
}

Result<void> JwksSource::Load() {
  {
    std::lock_guard lock(mu_);
    last_attempt_us_ = clock_.NowMicros();
  }
  return Refresh("start");
}

void JwksSource::Start() {
  thread_ = std::thread([this] {
    NameThisThread("ad-jwks");
    std::unique_lock lock(mu_);
    while (!stop_) {
      const int64_t wait_us = std::max<int64_t>(next_due_us_ - clock_.NowMicros(), 0);
      if (cv_.wait_for(lock, std::chrono::microseconds(wait_us), [&] {
            return stop_ || (!in_flight_ && clock_.NowMicros() >= next_due_us_);
          })) {
        if (stop_) break;
        in_flight_ = true;
        last_attempt_us_ = clock_.NowMicros();
        lock.unlock();
        RefreshOrWarn("max-age");
        lock.lock();
        in_flight_ = false;
        cv_.notify_all();
      }
    }
  });
}

void JwksSource::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool JwksSource::RefreshForUnknownKid() {
  std::unique_lock lock(mu_);
  if (in_flight_) {
    cv_.wait(lock, [&] { return !in_flight_; });
    return true;
  }
  const int64_t now = clock_.NowMicros();
  if (now - last_attempt_us_ < settings_.unknown_kid_interval_s * 1'000'000) return false;
  in_flight_ = true;
  last_attempt_us_ = now;
  lock.unlock();
  const bool ok = RefreshOrWarn("unknown kid");
  lock.lock();
  in_flight_ = false;
  cv_.notify_all();
  return ok;
}

}  // namespace assistantd::auth
