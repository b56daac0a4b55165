#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

namespace assistantd::vapi {

// Whether retrying can help: timeouts, resets, 408, 429 and 5xx are transient; other 4xx are
// permanent (the request itself is wrong).
enum class FailureKind { kTransient, kPermanent };

// One assistant field a Vapi 400 names: the top-level field (one of our field table's names,
// or "other") and whether Vapi does not know it ("unknown": "property x should not exist",
// at any depth) or refused its value ("invalid").
struct RejectedField {
  std::string field;
  std::string kind;
};

struct VapiFailure {
  FailureKind kind = FailureKind::kTransient;
  int status = 0;                              // HTTP status; 0 for network failures
  std::string reason;                          // short, safe to store in syncError
  std::optional<int64_t> retry_after_seconds;  // from Retry-After, when the server sent one
  bool outcome_unknown = false;  // the request may have taken effect (timeout, reset, 5xx)
  // On a 400: the assistant fields Vapi's validation named (see RejectedFields).
  std::vector<RejectedField> rejected = {};
};

// A Vapi Assistant JSON on success.
using VapiResult = tl::expected<nlohmann::json, VapiFailure>;

// List filters of GET /assistant (spec §2): limit and the createdAt bounds reconciliation uses.
struct ListParams {
  int limit = 100;
  std::optional<std::string> created_at_le;  // ISO 8601
  std::optional<std::string> created_at_ge;
};

// The remote Vapi assistants API. The API key is passed per call (it is resolved per
// operation, PRODUCT.md C6) and never logged.
class VapiClient {
 public:
  virtual ~VapiClient() = default;
  virtual VapiResult CreateAssistant(const std::string& api_key, const nlohmann::json& payload) = 0;
  virtual VapiResult UpdateAssistant(const std::string& api_key, const std::string& vapi_id,
                                     const nlohmann::json& payload) = 0;
  virtual VapiResult DeleteAssistant(const std::string& api_key, const std::string& vapi_id) = 0;
  virtual VapiResult GetAssistant(const std::string& api_key, const std::string& vapi_id) = 0;
  // A bare JSON array of assistants.
  virtual VapiResult ListAssistants(const std::string& api_key, const ListParams& params) = 0;
};

}  // namespace assistantd::vapi
