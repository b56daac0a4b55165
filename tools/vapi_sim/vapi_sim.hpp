#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "http/message.hpp"
#include "vapi_sim/schema_judge.hpp"

namespace assistantd::vapisim {

// Fault injection knobs (PRODUCT.md §2b). Rates are probabilities in [0, 1] per API request.
struct Faults {
  int latency_ms = 0;
  double fail_rate = 0;  // transient failure, no state change
  std::vector<int> fail_statuses = {500, 502, 503, 429};
  double hang_rate = 0;              // never answer
  double reset_rate = 0;             // reset the connection, no state change
  double commit_then_fail_rate = 0;  // POST: store the assistant, answer 500
  int retry_after_seconds = 1;       // on injected 429s
  uint64_t seed = 0;                 // 0: nondeterministic
  // Schema drift: top-level fields refused as if Vapi's DTO no longer declared them.
  std::vector<std::string> refuse_fields;
};

nlohmann::json FaultsToJson(const Faults& faults);
// Applies the camelCase keys present in `json` onto `base`; unknown keys and out-of-range
// values are errors.
Result<Faults> FaultsFromJson(const nlohmann::json& json, Faults base);

struct SimSettings {
  std::vector<std::string> api_keys;  // accepted bearer keys; empty: any non-empty key
  Faults faults;
};

// An in-memory Vapi assistants API (../shared/spec/vapi-assistants-api.md §2–§14): routes
// under any path prefix, per-key organisations, validation with 400 message arrays,
// shallow-merge PATCH, list filters, and fault injection. /__sim/* are control endpoints
// (state, reset, faults, stats) that no fault touches.
class VapiSim {
 public:
  VapiSim(SimSettings settings, const Clock& clock);

  // Thread-safe; may block for the injected latency.
  http::Response Handle(const http::Request& request);

 private:
  enum class Fault { kNone, kHang, kReset, kFail, kCommitThenFail };

  http::Response Control(const http::Request& request);
  http::Response Api(const http::Request& request, const std::vector<std::string>& rest,
                     Fault fault);
  Fault DrawFault(const std::string& method);
  void Count(const std::string& method, const std::string& outcome);

  http::Response List(const std::string& org, const http::Request& request);
  http::Response Create(const std::string& org, const http::Request& request,
                        bool commit_then_fail);
  http::Response Get(const std::string& org, const std::string& id);
  std::vector<std::string> Judge(const nlohmann::json& body, bool update);
  http::Response Update(const std::string& org, const std::string& id,
                        const http::Request& request);
  http::Response Delete(const std::string& org, const std::string& id);

  SimSettings settings_;
  const Clock& clock_;
  SchemaJudge judge_;
  std::mutex mu_;
  Faults faults_;
  std::mt19937_64 rng_;
  std::map<std::string, nlohmann::json> assistants_;              // id → Assistant (with orgId)
  std::map<std::string, std::map<std::string, uint64_t>> stats_;  // method → outcome → count
  uint64_t total_ = 0;
};

}  // namespace assistantd::vapisim
