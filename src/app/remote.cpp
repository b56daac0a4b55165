#include "app/remote.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/commands.hpp"

namespace assistantd::app {

std::string CheckTarget(const RemoteTarget& target) {
  if (!target.url.starts_with("http://") && !target.url.starts_with("https://")) {
    return "--url must start with http:// or https://";
  }
  if (target.service_key.empty() == target.token.empty()) {
    return "give one of --service-key and --token (or their environment variables)";
  }
  return "";
}

std::string BaseUrl(const RemoteTarget& target) {
  std::string base = target.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

std::vector<std::string> CredentialHeaders(const RemoteTarget& target) {
  if (!target.service_key.empty()) {
    return {"apikey: " + target.service_key, "Authorization: Bearer " + target.service_key};
  }
  std::vector<std::string> headers = {"Authorization: Bearer " + target.token};
  if (!target.apikey.empty()) headers.push_back("apikey: " + target.apikey);
  return headers;
}

net::CurlRequest JsonRequest(const RemoteTarget& target, const char* method, std::string url,
                             std::vector<std::string> headers, const std::string* body) {
  net::CurlRequest request;
  request.method = method;
  request.url = std::move(url);
  request.headers = std::move(headers);
  request.headers.emplace_back("Accept: application/json");
  if (body != nullptr && !body->empty()) {
    request.headers.emplace_back("Content-Type: application/json");
    request.body = body;
  }
  request.timeout_ms = target.timeout_ms;
  request.max_response_bytes = size_t{8} << 20;  // 8 MiB
  request.user_agent = "assistantd-cli";
  request.ca_file = target.ca_file;
  return request;
}

int RunRemoteReconcile(const RemoteTarget& target, const ReconcileOptions& options) {
  if (auto problem = CheckTarget(target); !problem.empty()) return Die(problem);
  const std::string body =
      nlohmann::json{{"dryRun", options.dry_run}, {"repairDrift", options.repair_drift}}.dump();
  net::CurlSession http;
  const auto answer = http.Perform(JsonRequest(
      target, "POST", BaseUrl(target) + "/v1/admin/reconcile", CredentialHeaders(target), &body));
  if (!answer.ok) return Die("could not reach " + BaseUrl(target) + ": " + answer.error);
  const auto doc = nlohmann::json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
  if (answer.status != 200 || !doc.is_object() || !doc.contains("complete")) {
    // Our error shape: {"error": {"code", "message"}} (GoTrue's answers put them at the top).
    const auto& e =
        doc.is_object() && doc.contains("error") && doc["error"].is_object() ? doc["error"] : doc;
    std::string why = "HTTP " + std::to_string(answer.status);
    if (e.is_object() && e.contains("message") && e["message"].is_string()) {
      why += ": " + e.value("code", std::string()) + " " + e["message"].get<std::string>();
    }
    return Die("the server refused the reconciliation (" + why + ")");
  }
  std::printf("%s\n", doc.dump(2).c_str());
  return doc["complete"] == true ? 0 : 2;
}

}  // namespace assistantd::app
