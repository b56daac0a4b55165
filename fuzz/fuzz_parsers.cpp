// The small parsers that read text from outside: query strings, cursors, ids, Prefer and
// Authorization headers, X-Forwarded-For, durations, listen addresses, database/Redis URLs and
// their redaction, rate-limit specs, Vapi's Retry-After and error bodies, e-mail addresses,
// passwords and metadata. The first byte picks the parser; the rest is its input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/request_parsing.hpp"
#include "common/json_util.hpp"
#include "config/config.hpp"
#include "domain/account_rules.hpp"
#include "domain/list_query.hpp"
#include "http/message.hpp"
#include "limits/rate_limiter.hpp"
#include "limits/redis_rate_limiter.hpp"
#include "vapi/vapi_rules.hpp"

namespace {

namespace api = assistantd::api;
namespace config = assistantd::config;
namespace domain = assistantd::domain;
namespace http = assistantd::http;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

http::Request WithHeader(std::string name, std::string_view value) {
  http::Request r;
  r.method = "GET";
  r.headers.emplace_back(std::move(name), std::string(value));
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 12) {
    case 0: {
      http::Request r;
      r.query = text;
      (void)http::ParseQuery(text);
      (void)api::ParseQueryParams(r, {"limit", "cursor", "q", "syncStatus", "fields"});
      break;
    }
    case 1:
      if (const auto cursor = domain::DecodeCursor(text)) {
        // A cursor we accept is one we could have made.
        Check(domain::DecodeCursor(domain::EncodeCursor(*cursor)).has_value());
      }
      (void)api::ParseCursor(text);
      (void)api::ParseLimit(text, 100);
      break;
    case 2:
      if (const auto id = api::ParseIdParam(text, "id")) Check(id->size() == 36);
      break;
    case 3: {
      if (const auto wait = api::PreferredWaitSeconds(WithHeader("prefer", text))) {
        Check(*wait > 0 && *wait <= api::kMaxPreferWaitSeconds);
      }
      (void)api::BearerCredential(WithHeader("authorization", text));
      auto body = nlohmann::json::object();
      (void)api::TakeRequestVapiKey(WithHeader("x-vapi-api-key", text), &body);
      break;
    }
    case 4:
      (void)http::ClientIp("127.0.0.1", text, {"127.0.0.1", "::1"});
      break;
    case 5:
      if (const auto seconds = config::ParseDuration(text)) Check(*seconds >= 0);
      (void)config::ParseInterval(text);
      break;
    case 6:
      (void)config::ParseListen(text);
      (void)assistantd::limits::ParseRedisUrl(text);
      (void)config::RedactUrl(text);
      (void)config::SplitList(text);
      break;
    case 7: {
      assistantd::limits::RateLimit limit;
      (void)assistantd::limits::ParseRateLimit(text, limit);
      break;
    }
    case 8:
      (void)assistantd::vapi::ParseRetryAfter(text, 1'800'000'000);
      (void)assistantd::vapi::NormalizeBaseUrl(text);
      break;
    case 9: {
      const auto reason = assistantd::vapi::FailureReason(400, text);
      Check(reason.size() <= 4096);
      (void)assistantd::vapi::RejectedFields(text);
      break;
    }
    case 10: {
      auto value = assistantd::ParseJsonStrict(text);
      if (!value) return 0;
      (void)domain::NormalizeEmail(*value);
      (void)domain::CheckPassword(*value, domain::PasswordPolicy{});
      if (auto user = domain::CheckMetadata(*value, domain::Metadata::kUser)) {
        (void)domain::MergeMetadata(*user, *value);
      }
      (void)domain::CheckMetadata(*value, domain::Metadata::kApp);
      break;
    }
    case 11:
      Check(assistantd::IsPrintableUtf8(text) ? assistantd::Utf8Length(text) <= text.size() : true);
      break;
  }
  return 0;
}
