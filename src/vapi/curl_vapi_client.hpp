#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/logging.hpp"
#include "vapi/vapi_client.hpp"

namespace assistantd::vapi {

struct CurlSettings {
  std::string base_url = "https://api.vapi.ai";
  long connect_timeout_ms = 5000;
  long total_timeout_ms = 30000;
  size_t max_response_bytes = 32 * 1024 * 1024;  // a 1,000-assistant list page fits
};

// VapiClient on libcurl: Bearer auth, connect and total timeouts, TLS verification on, no
// redirects, bounded responses, connections reused through a pool of easy handles.
class CurlVapiClient final : public VapiClient {
 public:
  CurlVapiClient(CurlSettings settings, const Clock& clock, Logger logger);
  ~CurlVapiClient() override;

  VapiResult CreateAssistant(const std::string& api_key, const nlohmann::json& payload) override;
  VapiResult UpdateAssistant(const std::string& api_key, const std::string& vapi_id,
                             const nlohmann::json& payload) override;
  VapiResult DeleteAssistant(const std::string& api_key, const std::string& vapi_id) override;
  VapiResult GetAssistant(const std::string& api_key, const std::string& vapi_id) override;
  VapiResult ListAssistants(const std::string& api_key, const ListParams& params) override;

 private:
  VapiResult Call(const char* method, const std::string& path, const std::string& api_key,
                  const nlohmann::json* body);
  void* Borrow();
  void Return(void* handle);

  CurlSettings settings_;
  std::string base_url_;
  const Clock& clock_;
  Logger logger_;
  std::mutex mu_;
  std::vector<void*> idle_;  // CURL* easy handles, each keeping its connections alive
};

}  // namespace assistantd::vapi
