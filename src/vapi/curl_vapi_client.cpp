#include "vapi/curl_vapi_client.hpp"

#include <curl/curl.h>

#include <chrono>

#include "vapi/vapi_rules.hpp"

namespace assistantd::vapi {
namespace {

struct Exchange {
  std::string body;
  size_t limit = 0;
  bool too_large = false;
  std::optional<std::string> retry_after;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  const size_t n = size * count;
  if (ex->body.size() + n > ex->limit) {
    ex->too_large = true;
    return 0;  // aborts the transfer
  }
  ex->body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  const size_t n = size * count;
  std::string_view line(data, n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string lower(line.substr(0, kName.size()));
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == kName) ex->retry_after = std::string(line.substr(kName.size()));
  }
  return n;
}

std::string Escape(CURL* curl, const std::string& value) {
  char* escaped = curl_easy_escape(curl, value.c_str(), static_cast<int>(value.size()));
  std::string out = escaped ? escaped : "";
  curl_free(escaped);
  return out;
}

}  // namespace

CurlVapiClient::CurlVapiClient(CurlSettings settings, const Clock& clock, Logger logger)
    : settings_(std::move(settings)),
      base_url_(NormalizeBaseUrl(settings_.base_url)),
      clock_(clock),
      logger_(std::move(logger)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CurlVapiClient::~CurlVapiClient() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* CurlVapiClient::Borrow() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void CurlVapiClient::Return(void* handle) {
  std::lock_guard lock(mu_);
  idle_.push_back(handle);
}

VapiResult CurlVapiClient::Call(const char* method, const std::string& path,
                                const std::string& api_key, const nlohmann::json* body) {
  CURL* curl = static_cast<CURL*>(Borrow());
  if (!curl) return tl::unexpected(VapiFailure{FailureKind::kTransient, 0, "curl init failed", {}, false});
  curl_easy_reset(curl);  // keeps the connection cache
  Exchange ex;
  ex.limit = settings_.max_response_bytes;
  const std::string url = base_url_ + path;
  const std::string payload = body ? body->dump() : std::string();
  curl_slist* headers = nullptr;
  const std::string auth = "Authorization: Bearer " + api_key;
  headers = curl_slist_append(headers, auth.c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  if (body) headers = curl_slist_append(headers, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
  }
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, settings_.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, settings_.total_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ex);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &ex);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "assistantd/0.1");

  const auto start = std::chrono::steady_clock::now();
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  Return(curl);
  const auto latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  // Method, path and outcome only: the key and bodies are never logged.
  LogEvent(logger_, spdlog::level::debug, "vapi call",
           {{"method", method}, {"path", path}, {"status", status}, {"latencyUs", latency_us},
            {"curl", static_cast<int>(rc)}});

  if (rc != CURLE_OK) {
    VapiFailure f;
    f.kind = FailureKind::kTransient;
    if (ex.too_large) {
      f.reason = "Vapi response larger than " + std::to_string(settings_.max_response_bytes) + " bytes";
      f.outcome_unknown = true;
    } else {
      f.reason = std::string("network error: ") + curl_easy_strerror(rc);
      // Only failures before the request was sent leave no doubt about its effect.
      f.outcome_unknown = rc != CURLE_COULDNT_CONNECT && rc != CURLE_COULDNT_RESOLVE_HOST &&
                          rc != CURLE_COULDNT_RESOLVE_PROXY;
    }
    return tl::unexpected(f);
  }
  const int code = static_cast<int>(status);
  if (code >= 200 && code < 300) {
    if (ex.body.empty()) return nlohmann::json(nullptr);
    auto parsed = nlohmann::json::parse(ex.body, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return tl::unexpected(
          VapiFailure{FailureKind::kTransient, code, "Vapi answered invalid JSON", {}, true});
    }
    return parsed;
  }
  VapiFailure f;
  f.kind = ClassifyStatus(code);
  f.status = code;
  f.reason = FailureReason(code, ex.body);
  if (ex.retry_after) f.retry_after_seconds = ParseRetryAfter(*ex.retry_after, clock_.NowSeconds());
  f.outcome_unknown = code >= 500 || code == 408;
  return tl::unexpected(f);
}

VapiResult CurlVapiClient::CreateAssistant(const std::string& api_key, const nlohmann::json& payload) {
  return Call("POST", "/assistant", api_key, &payload);
}

VapiResult CurlVapiClient::UpdateAssistant(const std::string& api_key, const std::string& vapi_id,
                                           const nlohmann::json& payload) {
  return Call("PATCH", "/assistant/" + vapi_id, api_key, &payload);
}

VapiResult CurlVapiClient::DeleteAssistant(const std::string& api_key, const std::string& vapi_id) {
  return Call("DELETE", "/assistant/" + vapi_id, api_key, nullptr);
}

VapiResult CurlVapiClient::GetAssistant(const std::string& api_key, const std::string& vapi_id) {
  return Call("GET", "/assistant/" + vapi_id, api_key, nullptr);
}

VapiResult CurlVapiClient::ListAssistants(const std::string& api_key, const ListParams& params) {
  std::string path = "/assistant?limit=" + std::to_string(params.limit);
  CURL* curl = static_cast<CURL*>(Borrow());
  if (params.created_at_le) path += "&createdAtLe=" + Escape(curl, *params.created_at_le);
  if (params.created_at_ge) path += "&createdAtGe=" + Escape(curl, *params.created_at_ge);
  Return(curl);
  return Call("GET", path, api_key, nullptr);
}

}  // namespace assistantd::vapi
