#include "vapi/curl_vapi_client.hpp"

#include <curl/curl.h>

#include <chrono>

#include "net/curl_exchange.hpp"
#include "vapi/vapi_rules.hpp"

namespace assistantd::vapi {
namespace {

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
  net::EnsureCurlInitialised();
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
  const std::string payload = body ? body->dump() : std::string();
  net::CurlRequest request;
  request.method = method;
  request.url = base_url_ + path;
  request.headers = {"Authorization: Bearer " + api_key, "Accept: application/json"};
  if (body) {
    request.headers.emplace_back("Content-Type: application/json");
    request.body = &payload;
  }
  request.connect_timeout_ms = settings_.connect_timeout_ms;
  request.timeout_ms = settings_.total_timeout_ms;
  request.max_response_bytes = settings_.max_response_bytes;
  request.capture = {"retry-after"};
  void* curl = Borrow();
  const auto start = std::chrono::steady_clock::now();
  const net::CurlAnswer answer = net::Perform(curl, request);
  if (curl) Return(curl);
  const auto latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  // Method, path and outcome only: the key and bodies are never logged.
  LogEvent(logger_, spdlog::level::debug, "vapi call",
           {{"method", method},
            {"path", path},
            {"status", answer.status},
            {"latencyUs", latency_us},
            {"ok", answer.ok}});

  if (!answer.ok) {
    VapiFailure f;
    f.kind = FailureKind::kTransient;
    if (answer.too_large) {
      f.reason =
          "Vapi response larger than " + std::to_string(settings_.max_response_bytes) + " bytes";
      f.outcome_unknown = true;
    } else {
      f.reason = "network error: " + answer.error;
      // Only failures before the request was sent leave no doubt about its effect.
      f.outcome_unknown = !answer.nothing_sent;
    }
    return tl::unexpected(f);
  }
  const int code = static_cast<int>(answer.status);
  if (code >= 200 && code < 300) {
    if (answer.body.empty()) return nlohmann::json(nullptr);
    auto parsed = nlohmann::json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return tl::unexpected(
          VapiFailure{FailureKind::kTransient, code, "Vapi answered invalid JSON", {}, true});
    }
    return parsed;
  }
  VapiFailure f;
  f.kind = ClassifyStatus(code);
  f.status = code;
  f.reason = FailureReason(code, answer.body);
  if (code == 400) f.rejected = RejectedFields(answer.body);
  if (const auto it = answer.headers.find("retry-after"); it != answer.headers.end()) {
    f.retry_after_seconds = ParseRetryAfter(it->second, clock_.NowSeconds());
  }
  f.outcome_unknown = code >= 500 || code == 408;
  return tl::unexpected(f);
}

VapiResult CurlVapiClient::CreateAssistant(const std::string& api_key,
                                           const nlohmann::json& payload) {
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
