#include "app/smoke.hpp"

#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "common/encoding.hpp"
#include "net/curl_exchange.hpp"

namespace assistantd::app {
namespace {

using nlohmann::json;

struct Answer {
  long status = 0;
  std::string body;
  json doc;  // the body parsed, or null
};

// Why an answer is not what a check wants; empty when it is.
using Verify = std::function<std::string(const Answer&)>;

std::string Excerpt(std::string_view body) {
  std::string out;
  for (const char c : body.substr(0, 200)) out += (c == '\n' || c == '\r') ? ' ' : c;
  if (body.size() > 200) out += "…";
  return out;
}

class Smoke {
 public:
  explicit Smoke(const SmokeOptions& o) : o_(o), t_(o.target), base_(BaseUrl(o.target)) {}

  int Run() {
    const bool steps = Steps();
    const bool cleaned = Cleanup();
    if (steps && cleaned) {
      std::printf("smoke: passed, %d checks against %s\n", passed_, base_.c_str());
      return 0;
    }
    std::printf("smoke: FAILED at %s (%d checks passed before it) against %s\n", failed_.c_str(),
                passed_, base_.c_str());
    return 1;
  }

 private:
  bool Steps() {
    if (!Check("healthz", "GET", base_ + "/healthz", {}, {200})) return false;
    if (!Check("readyz", "GET", base_ + "/readyz", {}, {200})) return false;
    if (!Check("auth required", "GET", base_ + "/v1/assistants?limit=1", {}, {401})) return false;
    if (!SignIn()) return false;
    if (!Check("list", "GET", base_ + "/v1/assistants?limit=1", User(), {200}, [](const Answer& a) {
          return a.doc.contains("data") && a.doc["data"].is_array() ? ""
                                                                    : "no data array in the page";
        })) {
      return false;
    }
    if (!RoundTrip()) return false;
    if (o_.metrics_url == "off") return true;
    const std::string metrics = o_.metrics_url.empty() ? base_ + "/metrics" : o_.metrics_url;
    return Check("metrics", "GET", metrics, {}, {200},
                 [](const Answer& a) {
                   return a.body.find("assistantd_http_requests_total") != std::string::npos
                              ? ""
                              : "no assistantd_http_requests_total in the answer";
                 })
        .has_value();
  }

  // A throwaway, confirmed user made through the GoTrue admin API, signed in by password.
  bool SignIn() {
    if (t_.service_key.empty()) {
      token_ = t_.token;
      return true;
    }
    const std::string tag = HexEncode(RandomBytes(4));
    const std::string email = "smoke-" + tag + "@smoke.assistantd.invalid";
    const std::string password = HexEncode(RandomBytes(16));
    const json user = {{"email", email},
                       {"password", password},
                       {"email_confirm", true},
                       {"user_metadata", {{"assistantd_smoke", true}}}};
    auto made = Check(
        "create user", "POST", base_ + "/auth/v1/admin/users", Service(), {200},
        [](const Answer& a) {
          return a.doc.contains("id") && a.doc["id"].is_string() ? "" : "no id";
        },
        user.dump());
    if (!made) return false;
    user_id_ = made->doc["id"].get<std::string>();
    auto signed_in = Check(
        "sign in", "POST", base_ + "/auth/v1/token?grant_type=password",
        {"apikey: " + t_.service_key}, {200},
        [](const Answer& a) {
          return a.doc.contains("access_token") && a.doc["access_token"].is_string()
                     ? ""
                     : "no access_token";
        },
        json{{"email", email}, {"password", password}}.dump());
    if (!signed_in) return false;
    token_ = signed_in->doc["access_token"].get<std::string>();
    return true;
  }

  // Create → read (both routes) → delete → gone, of an assistant marked as the smoke test's.
  bool RoundTrip() {
    const std::string name = "assistantd smoke " + HexEncode(RandomBytes(4));
    const json body = {{"name", name}, {"metadata", {{"assistantdSmoke", true}}}};
    auto headers = User();
    headers.push_back(o_.expect_sync ? "Prefer: return=representation, wait=10"
                                     : "Prefer: return=representation");
    const bool sync = o_.expect_sync;
    auto created = Check(
        sync ? "create (synced to Vapi)" : "create", "POST", base_ + "/v1/assistants", headers,
        {201},
        [&](const Answer& a) -> std::string {
          if (!a.doc.contains("id") || !a.doc["id"].is_string()) return "no id";
          if (!sync) return "";
          if (a.doc.value("syncStatus", "") == "synced" && a.doc["vapiId"].is_string()) return "";
          return "syncStatus " + a.doc.value("syncStatus", std::string("?")) +
                 (a.doc.contains("syncError") && a.doc["syncError"].is_string()
                      ? ": " + a.doc["syncError"].get<std::string>()
                      : std::string());
        },
        body.dump());
    if (!created) return false;
    assistant_id_ = created->doc["id"].get<std::string>();
    const auto same_name = [name](const Answer& a) {
      return a.doc.value("name", "") == name ? "" : "another name came back";
    };
    if (!Check("read", "GET", base_ + "/v1/assistants/" + assistant_id_, User(), {200},
               same_name) ||
        !Check("read (functions route)", "GET", base_ + "/functions/v1/assistants/" + assistant_id_,
               User(), {200}, same_name)) {
      return false;
    }
    auto remove = User();
    if (sync) remove.push_back("Prefer: wait=10");
    if (!Check(sync ? "delete (removed from Vapi)" : "delete", "DELETE",
               base_ + "/v1/assistants/" + assistant_id_, remove,
               sync ? std::vector<long>{200} : std::vector<long>{200, 204},
               [sync](const Answer& a) -> std::string {
                 if (!sync || a.doc.value("syncStatus", "") == "deleted") return "";
                 return "syncStatus " + a.doc.value("syncStatus", std::string("?"));
               })) {
      return false;
    }
    if (!Check("gone", "GET", base_ + "/v1/assistants/" + assistant_id_, User(), {404})) {
      return false;
    }
    assistant_id_.clear();
    return true;
  }

  // Removes what a failed run left: the throwaway user (with its assistants), or the assistant.
  bool Cleanup() {
    if (!user_id_.empty()) {
      return Check("remove user", "DELETE", base_ + "/auth/v1/admin/users/" + user_id_, Service(),
                   {200})
          .has_value();
    }
    if (!assistant_id_.empty()) {
      return Check("remove assistant", "DELETE", base_ + "/v1/assistants/" + assistant_id_, User(),
                   {200, 204, 404})
          .has_value();
    }
    return true;
  }

  std::vector<std::string> Service() const { return CredentialHeaders(t_); }
  std::vector<std::string> User() const {
    std::vector<std::string> h = {"Authorization: Bearer " + token_};
    const std::string& apikey = t_.service_key.empty() ? t_.apikey : t_.service_key;
    if (!apikey.empty()) h.push_back("apikey: " + apikey);
    return h;
  }

  // One request; prints the check's line. The answer when the status is one of `expected`
  // and `verify` finds nothing wrong.
  std::optional<Answer> Check(const std::string& name, const char* method, const std::string& url,
                              std::vector<std::string> headers, const std::vector<long>& expected,
                              const Verify& verify = {}, const std::string& body = "") {
    net::CurlRequest request = JsonRequest(t_, method, url, std::move(headers), &body);
    request.user_agent = "assistantd-smoke";
    const auto start = std::chrono::steady_clock::now();
    const net::CurlAnswer raw = http_.Perform(request);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::string path = url.starts_with(base_) ? url.substr(base_.size()) : url;
    if (const auto q = path.find('?'); q != std::string::npos && path.starts_with("/auth")) {
      path.resize(q);  // keep grant types out of the line, ids stay
    }
    const std::string what = std::string(method) + " " + path;
    std::string problem;
    Answer a;
    if (!raw.ok) {
      problem = raw.error.empty() ? std::string("no answer") : raw.error;
    } else {
      a.status = raw.status;
      a.body = raw.body;
      a.doc = json::parse(raw.body, nullptr, /*allow_exceptions=*/false);
      if (a.doc.is_discarded()) a.doc = nullptr;
      bool status_ok = false;
      for (const long s : expected) status_ok = status_ok || s == raw.status;
      if (!status_ok) {
        // Our error shape (and GoTrue's) says it in `message`; anything else as it came.
        const bool shaped =
            a.doc.is_object() && a.doc.contains("message") && a.doc["message"].is_string();
        problem =
            "expected " + std::to_string(expected.front()) + ": " +
            (shaped ? a.doc.value("code", std::string()) + " " + a.doc["message"].get<std::string>()
                    : Excerpt(raw.body));
      } else if (verify) {
        problem = verify(a);
      }
    }
    if (problem.empty()) {
      std::printf("ok    %-28s %s → %ld (%.1f ms)\n", name.c_str(), what.c_str(), a.status, ms);
      ++passed_;
      return a;
    }
    std::printf("FAIL  %-28s %s → %s (%s)\n", name.c_str(), what.c_str(),
                raw.ok ? std::to_string(raw.status).c_str() : "-", problem.c_str());
    if (failed_.empty()) failed_ = name;
    return std::nullopt;
  }

  const SmokeOptions& o_;
  const RemoteTarget& t_;
  std::string base_;
  net::CurlSession http_;
  std::string token_;
  std::string user_id_;
  std::string assistant_id_;
  int passed_ = 0;
  std::string failed_;
};

}  // namespace

int RunSmoke(const SmokeOptions& options) {
  if (auto problem = CheckTarget(options.target); !problem.empty()) {
    std::fprintf(stderr, "assistantd: %s\n", problem.c_str());
    return 1;
  }
  std::fflush(stdout);
  const int rc = Smoke(options).Run();
  std::fflush(stdout);
  return rc;
}

}  // namespace assistantd::app
