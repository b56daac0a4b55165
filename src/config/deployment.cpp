#include "config/deployment.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace assistantd::config {
namespace {

enum class Reach { kLocal, kPrivate, kEverywhere, kPublic };

// Where a listen host can be reached from.
Reach ReachOf(const std::string& host) {
  if (host.empty() || host == "0.0.0.0" || host == "::") return Reach::kEverywhere;
  if (host == "localhost") return Reach::kLocal;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    const uint32_t a = ntohl(v4.s_addr);
    if ((a >> 24) == 127) return Reach::kLocal;
    if ((a >> 24) == 10 || (a >> 20) == 0xAC1 || (a >> 16) == 0xC0A8 || (a >> 16) == 0xA9FE) {
      return Reach::kPrivate;  // 10/8, 172.16/12, 192.168/16, link-local 169.254/16
    }
    return Reach::kPublic;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    static const in6_addr loopback = IN6ADDR_LOOPBACK_INIT;
    if (std::memcmp(&v6, &loopback, sizeof v6) == 0) return Reach::kLocal;
    if ((v6.s6_addr[0] & 0xFE) == 0xFC) return Reach::kPrivate;  // fc00::/7
    if (v6.s6_addr[0] == 0xFE && (v6.s6_addr[1] & 0xC0) == 0x80) return Reach::kPrivate;
    return Reach::kPublic;
  }
  return Reach::kPublic;  // a name: it may resolve to anything
}

}  // namespace

Result<Profile> ParseProfile(const std::string& name) {
  if (name.empty()) return Profile::kNone;
  if (name == "development") return Profile::kDevelopment;
  if (name == "staging") return Profile::kStaging;
  if (name == "production") return Profile::kProduction;
  return Fail(ErrorCode::kInvalidInput, "invalid_config",
              "--profile must be production, staging or development");
}

const char* ToString(Profile profile) {
  switch (profile) {
    case Profile::kDevelopment:
      return "development";
    case Profile::kStaging:
      return "staging";
    case Profile::kProduction:
      return "production";
    case Profile::kNone:
      break;
  }
  return "";
}

bool TestRoleAllowed(const ServeConfig& c, Profile profile) {
  return profile != Profile::kProduction || c.allow_test_role;
}

std::vector<Finding> CheckDeployment(const ServeConfig& c, Profile profile) {
  std::vector<Finding> out;
  if (profile != Profile::kStaging && profile != Profile::kProduction) return out;
  const auto add = [&](bool error, const char* code, std::string message) {
    out.push_back({error, code, std::move(message)});
  };
  const auto target = ResolveDatabase(c);
  const bool fleet = target && target->postgres;  // several instances may share it

  if (fleet) {
    const bool hmac = c.jwt_algorithm.starts_with("HS");
    if (c.jwt_keys.empty() && (!hmac || c.jwt_secret.empty())) {
      add(true, "generated_secret",
          std::string("each instance signs tokens with a ") + (hmac ? "JWT secret" : "key ring") +
              " generated into its own data dir, so the others refuse them: give every "
              "instance the same " +
              (hmac ? "--jwt-secret" : "ASSISTANTD_JWT_KEYS"));
    }
    if (c.master_key.empty()) {
      add(true, "generated_master_key",
          "each instance generates its own master key, so a Vapi key stored through one cannot "
          "be opened by the others: give every instance the same --master-key");
    }
    if (c.redis_url.empty()) {
      add(false, "per_instance_limits",
          "rate limits are counted in each instance: behind N instances a client gets N times "
          "the limit (--redis-url shares them)");
    }
  }
  if (!c.vapi_base_url.starts_with("https://")) {
    add(true, "insecure_vapi",
        "--vapi-base-url is not https: Vapi API keys would cross the network in clear");
  }
  if (const auto listen = ParseListen(c.listen); listen) {
    const Reach reach = ReachOf(listen->host);
    if (reach == Reach::kPublic) {
      add(true, "public_listener",
          "--listen " + c.listen +
              " is a public address: /metrics, /healthz and /readyz answer "
              "anyone, and clients bypass the TLS proxy; listen on loopback or a private address");
    } else if (reach == Reach::kEverywhere) {
      add(false, "public_listener",
          "--listen " + c.listen +
              " accepts connections on every interface: keep the port off "
              "the public network (/metrics answers without credentials)");
    }
    if (c.public_url.starts_with("https://") && reach != Reach::kPublic &&
        c.trusted_proxies.empty()) {
      add(false, "untrusted_proxy",
          "clients come through a TLS-terminating proxy (--public-url is https) that is not in "
          "--trusted-proxies: every request seems to come from the proxy, so per-IP limits and "
          "the audit log see one address");
    }
  }
  if (c.public_url.empty()) {
    add(false, "no_public_url",
        "--public-url is not set: tokens are issued with iss \"assistantd\", not "
        "<public-url>/auth/v1");
  } else if (!c.public_url.starts_with("https://")) {
    add(true, "insecure_public_url",
        "--public-url is not https: tokens and passwords would cross the network in clear");
  }
  if (!c.disable_signup && !c.require_email_confirmation) {
    add(false, "open_signup",
        "anyone can sign up and use the account at once: --require-email-confirmation or "
        "--disable-signup");
  }
  if (profile == Profile::kProduction && c.allow_test_role) {
    add(false, "test_role",
        "--allow-test-role: tokens with the test role are accepted in production");
  }
  if (c.jwt_audience.empty()) {
    add(false, "no_audience", "--jwt-audience is empty: tokens meant for other services pass");
  }
  if (c.rate_limit_user == "0") {
    add(false, "unlimited_users", "--rate-limit-user 0: one user can take the whole server");
  }
  if (c.log_level == "trace" || c.log_level == "debug") {
    add(false, "verbose_logs", "--log-level " + c.log_level + " logs every request's details");
  }
  std::stable_partition(out.begin(), out.end(), [](const Finding& f) { return f.error; });
  return out;
}

}  // namespace assistantd::config
