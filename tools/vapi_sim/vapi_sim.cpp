#include "vapi_sim/vapi_sim.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <thread>

#include "common/json_util.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"
#include "domain/vapi_schema.hpp"

namespace assistantd::vapisim {
namespace {

using nlohmann::json;

const char* ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Error";
  }
}

// Vapi's (NestJS) error body: {"message": string | string[], "error": phrase, "statusCode"}.
http::Response NestError(int status, json message) {
  return http::Response::Json(
      status,
      {{"message", std::move(message)}, {"error", ReasonPhrase(status)}, {"statusCode", status}});
}

// A stable organisation id per API key (a UUID made from the key's hash).
std::string OrgFor(const std::string& key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

bool ParseInt(std::string_view s, int& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

json FaultsToJson(const Faults& f) {
  return {{"latencyMs", f.latency_ms},
          {"failRate", f.fail_rate},
          {"failStatuses", f.fail_statuses},
          {"hangRate", f.hang_rate},
          {"resetRate", f.reset_rate},
          {"commitThenFailRate", f.commit_then_fail_rate},
          {"retryAfterSeconds", f.retry_after_seconds},
          {"seed", f.seed},
          {"refuseFields", f.refuse_fields}};
}

Result<Faults> FaultsFromJson(const json& j, Faults f) {
  const auto bad = [](const std::string& m) {
    return Fail(ErrorCode::kInvalidInput, "invalid_faults", m);
  };
  if (!j.is_object()) return bad("faults must be a JSON object");
  for (const auto& [key, v] : j.items()) {
    if (key == "latencyMs" || key == "retryAfterSeconds") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 600000) {
        return bad(key + " must be an integer 0-600000");
      }
      (key == "latencyMs" ? f.latency_ms : f.retry_after_seconds) = v.get<int>();
    } else if (key == "failRate" || key == "hangRate" || key == "resetRate" ||
               key == "commitThenFailRate") {
      if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1) {
        return bad(key + " must be a number between 0 and 1");
      }
      double& slot = key == "failRate"    ? f.fail_rate
                     : key == "hangRate"  ? f.hang_rate
                     : key == "resetRate" ? f.reset_rate
                                          : f.commit_then_fail_rate;
      slot = v.get<double>();
    } else if (key == "refuseFields") {
      if (!v.is_array()) return bad("refuseFields must be an array of field names");
      std::vector<std::string> names;
      for (const auto& n : v) {
        if (!n.is_string() || n.get_ref<const std::string&>().empty()) {
          return bad("refuseFields must be an array of field names");
        }
        names.push_back(n.get<std::string>());
      }
      f.refuse_fields = std::move(names);
    } else if (key == "failStatuses") {
      if (!v.is_array() || v.empty()) return bad("failStatuses must be a non-empty array");
      std::vector<int> statuses;
      for (const auto& s : v) {
        if (!s.is_number_integer() || s.get<int>() < 400 || s.get<int>() > 599) {
          return bad("failStatuses must hold HTTP statuses 400-599");
        }
        statuses.push_back(s.get<int>());
      }
      f.fail_statuses = std::move(statuses);
    } else if (key == "seed") {
      if (!v.is_number_unsigned()) return bad("seed must be a non-negative integer");
      f.seed = v.get<uint64_t>();
    } else {
      return bad("unknown fault knob " + key);
    }
  }
  return f;
}

VapiSim::VapiSim(SimSettings settings, const Clock& clock)
    : settings_(std::move(settings)),
      clock_(clock),
      judge_(domain::VapiSchemaDocument()),
      faults_(settings_.faults),
      rng_(faults_.seed ? faults_.seed : std::random_device{}()) {}

void VapiSim::Count(const std::string& method, const std::string& outcome) {
  std::lock_guard lock(mu_);
  ++stats_[method][outcome];
  ++total_;
}

VapiSim::Fault VapiSim::DrawFault(const std::string& method) {
  std::lock_guard lock(mu_);
  std::uniform_real_distribution<double> u(0, 1);
  if (u(rng_) < faults_.hang_rate) return Fault::kHang;
  if (u(rng_) < faults_.reset_rate) return Fault::kReset;
  if (u(rng_) < faults_.fail_rate) return Fault::kFail;
  if (method == "POST" && u(rng_) < faults_.commit_then_fail_rate) return Fault::kCommitThenFail;
  return Fault::kNone;
}

http::Response VapiSim::Handle(const http::Request& request) {
  if (request.path.starts_with("/__sim/")) return Control(request);

  auto segments = Segments(request.path);
  // Any prefix ("/v1", "/api/v2", …) before the "assistant" segment is accepted.
  const auto it = std::find(segments.begin(), segments.end(), "assistant");
  if (it == segments.end() || segments.end() - it > 2) {
    Count(request.method, "404");
    return NestError(404, "Cannot " + request.method + " " + request.path);
  }
  const std::vector<std::string> rest(it + 1, segments.end());

  int latency_ms;
  {
    std::lock_guard lock(mu_);
    latency_ms = faults_.latency_ms;
  }
  if (latency_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(latency_ms));

  const Fault fault = DrawFault(request.method);
  http::Response res;
  if (fault == Fault::kHang || fault == Fault::kReset) {
    res.disposition = fault == Fault::kHang ? http::Disposition::kHang : http::Disposition::kReset;
    Count(request.method, fault == Fault::kHang ? "hang" : "reset");
    return res;
  }
  if (fault == Fault::kFail) {
    int status;
    int retry_after;
    {
      std::lock_guard lock(mu_);
      std::uniform_int_distribution<size_t> pick(0, faults_.fail_statuses.size() - 1);
      status = faults_.fail_statuses[pick(rng_)];
      retry_after = faults_.retry_after_seconds;
    }
    res = NestError(status, status == 429 ? "Rate limit exceeded" : "Injected failure");
    if (status == 429) res.SetHeader("Retry-After", std::to_string(retry_after));
  } else {
    res = Api(request, rest, fault);
  }
  Count(request.method,
        std::to_string(res.status) +
            (fault == Fault::kCommitThenFail && res.status == 500 ? "-committed" : ""));
  return res;
}

http::Response VapiSim::Api(const http::Request& request, const std::vector<std::string>& rest,
                            Fault fault) {
  const auto auth = request.Header("authorization");
  std::string key;
  if (auth && auth->size() > 7 && auth->substr(0, 7) == "Bearer ")
    key = std::string(auth->substr(7));
  const bool known =
      !key.empty() &&
      (settings_.api_keys.empty() || std::find(settings_.api_keys.begin(), settings_.api_keys.end(),
                                               key) != settings_.api_keys.end());
  if (!known) {
    return NestError(401,
                     "Invalid Key. Hot tip, you may be using the private key instead of the "
                     "public key, or vice versa.");
  }
  const std::string org = OrgFor(key);
  const std::string& m = request.method;
  if (rest.empty()) {
    if (m == "GET") return List(org, request);
    if (m == "POST") return Create(org, request, fault == Fault::kCommitThenFail);
  } else {
    const auto id = NormalizeUuid(rest[0]);
    if (!id) return NestError(400, "Validation failed (uuid is expected)");
    if (m == "GET") return Get(org, *id);
    if (m == "PATCH") return Update(org, *id, request);
    if (m == "DELETE") return Delete(org, *id);
  }
  return NestError(404, "Cannot " + m + " " + request.path);
}

http::Response VapiSim::List(const std::string& org, const http::Request& request) {
  auto params = http::ParseQuery(request.query);
  if (!params) return NestError(400, json::array({"query string is malformed"}));
  int limit = 100;
  std::vector<std::pair<std::string, int64_t>> bounds;
  std::vector<std::string> problems;
  for (const auto& [name, value] : *params) {
    if (name == "limit") {
      if (!ParseInt(value, limit) || limit < 0 || limit > 1000) {
        problems.push_back("limit must not be greater than 1000 and not less than 0");
      }
      continue;
    }
    static const std::vector<std::string> kBounds = {"createdAtGt", "createdAtLt", "createdAtGe",
                                                     "createdAtLe", "updatedAtGt", "updatedAtLt",
                                                     "updatedAtGe", "updatedAtLe"};
    if (std::find(kBounds.begin(), kBounds.end(), name) == kBounds.end()) {
      problems.push_back("property " + name + " should not exist");
      continue;
    }
    const auto ts = ParseTimestamp(value);
    if (!ts) {
      problems.push_back(name + " must be a valid ISO 8601 date string");
      continue;
    }
    bounds.emplace_back(name, *ts);
  }
  if (!problems.empty()) return NestError(400, problems);

  std::vector<json> matches;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, a] : assistants_) {
      if (a["orgId"] != org) continue;
      bool ok = true;
      for (const auto& [name, bound] : bounds) {
        const int64_t v = *ParseTimestamp(
            a[name.starts_with("created") ? "createdAt" : "updatedAt"].get<std::string>());
        const std::string op = name.substr(name.size() - 2);
        ok = ok && (op == "Gt"   ? v > bound
                    : op == "Lt" ? v < bound
                    : op == "Ge" ? v >= bound
                                 : v <= bound);
      }
      if (ok) matches.push_back(a);
    }
  }
  std::sort(matches.begin(), matches.end(), [](const json& x, const json& y) {
    return std::make_pair(x["createdAt"].get<std::string>(), x["id"].get<std::string>()) >
           std::make_pair(y["createdAt"].get<std::string>(), y["id"].get<std::string>());
  });
  if (matches.size() > static_cast<size_t>(limit)) matches.resize(static_cast<size_t>(limit));
  return http::Response::Json(200, json(matches));
}

http::Response VapiSim::Create(const std::string& org, const http::Request& request,
                               bool commit_then_fail) {
  auto body = ParseJsonStrict(request.body.empty() ? "{}" : request.body);
  if (!body || !body->is_object()) return NestError(400, "Body must be a JSON object");
  if (const auto v = Judge(*body, false); !v.empty()) return NestError(400, v);
  json a = json::object();
  for (const auto& [k, v] : body->items()) {
    if (!v.is_null()) a[k] = v;
  }
  const std::string now = FormatTimestamp(clock_.NowMicros());
  a["id"] = NewUuid();
  a["orgId"] = org;
  a["createdAt"] = now;
  a["updatedAt"] = now;
  a["latestVersion"] = nullptr;  // optional in the SDK's Assistant; null without versioning
  {
    std::lock_guard lock(mu_);
    assistants_[a["id"].get<std::string>()] = a;
  }
  // The duplicate-maker: the assistant exists, but the client is told it failed.
  if (commit_then_fail) return NestError(500, "Internal server error");
  return http::Response::Json(201, a);
}

std::vector<std::string> VapiSim::Judge(const json& body, bool update) {
  std::vector<std::string> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& name : faults_.refuse_fields) {
      if (body.contains(name)) out.push_back("property " + name + " should not exist");
    }
  }
  if (!out.empty()) return out;
  return judge_.Judge(body, update);
}

http::Response VapiSim::Get(const std::string& org, const std::string& id) {
  std::lock_guard lock(mu_);
  const auto it = assistants_.find(id);
  if (it == assistants_.end() || it->second["orgId"] != org) {
    return NestError(404, "Assistant not found");
  }
  return http::Response::Json(200, it->second);
}

http::Response VapiSim::Update(const std::string& org, const std::string& id,
                               const http::Request& request) {
  auto body = ParseJsonStrict(request.body.empty() ? "{}" : request.body);
  if (!body || !body->is_object()) return NestError(400, "Body must be a JSON object");
  if (const auto v = Judge(*body, true); !v.empty()) return NestError(400, v);
  std::lock_guard lock(mu_);
  const auto it = assistants_.find(id);
  if (it == assistants_.end() || it->second["orgId"] != org) {
    return NestError(404, "Assistant not found");
  }
  json& a = it->second;
  // Shallow merge (spec §11): each top-level key replaces the stored value; null removes it.
  for (const auto& [k, v] : body->items()) {
    if (v.is_null()) {
      a.erase(k);
    } else {
      a[k] = v;
    }
  }
  a["updatedAt"] = FormatTimestamp(clock_.NowMicros());
  return http::Response::Json(200, a);
}

http::Response VapiSim::Delete(const std::string& org, const std::string& id) {
  std::lock_guard lock(mu_);
  const auto it = assistants_.find(id);
  if (it == assistants_.end() || it->second["orgId"] != org) {
    return NestError(404, "Assistant not found");
  }
  json deleted = std::move(it->second);
  assistants_.erase(it);
  return http::Response::Json(200, deleted);
}

http::Response VapiSim::Control(const http::Request& request) {
  const std::string& p = request.path;
  const std::string& m = request.method;
  if (p == "/__sim/state" && m == "GET") {
    std::lock_guard lock(mu_);
    json all = json::array();
    for (const auto& [id, a] : assistants_) all.push_back(a);
    return http::Response::Json(200, all);
  }
  if (p == "/__sim/reset" && m == "POST") {
    std::lock_guard lock(mu_);
    assistants_.clear();
    stats_.clear();
    total_ = 0;
    return http::Response::Json(200, {{"reset", true}});
  }
  if (p == "/__sim/faults" && (m == "PUT" || m == "GET")) {
    std::lock_guard lock(mu_);
    if (m == "PUT") {
      auto body = ParseJsonStrict(request.body);
      if (!body) return NestError(400, body.error().message);
      auto faults = FaultsFromJson(*body, faults_);
      if (!faults) return NestError(400, faults.error().message);
      if (faults->seed != faults_.seed && faults->seed != 0) rng_.seed(faults->seed);
      faults_ = *faults;
    }
    return http::Response::Json(200, FaultsToJson(faults_));
  }
  if (p == "/__sim/stats" && m == "GET") {
    std::lock_guard lock(mu_);
    json by_method = json::object();
    for (const auto& [method, outcomes] : stats_) by_method[method] = outcomes;
    return http::Response::Json(200, {{"total", total_}, {"byMethod", by_method}});
  }
  return NestError(404, "Cannot " + m + " " + p);
}

}  // namespace assistantd::vapisim
