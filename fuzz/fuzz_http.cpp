// The whole HTTP request path, in memory: the input is what one client sends on one
// connection (any number of requests, any bytes), served by the same session code as a TCP
// connection (framing, header and body limits, keep-alive, refusals) in front of the real
// service: router, authentication, rate limits, every API and the storage, over a SQLite
// database of its own (in /dev/shm when it exists). No socket, nothing mocked.
//
// So that inputs get past authentication, these placeholders are replaced by credentials
// valid for the run: @USER@ and @OTHER@ by two users' access tokens, @ADMIN@ by a
// service_role token, @REFRESH@ by the first user's refresh token.
//
// With FUZZ_HTTP_SHOW set, each input's answers are printed (to see what an input reaches:
// build-fuzz/fuzz/fuzz_http -runs=0 FILE).
//
// Findings, besides what ASan and UBSan report: output that is not a sequence of well-formed
// responses, a 500 answer (an internal error is a bug whatever the input), and the JWT secret
// or the master key in anything written back (unless the input itself held it).
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/service.hpp"
#include "auth/jwt.hpp"
#include "common/logging.hpp"
#include "config/config.hpp"
#include "http/server.hpp"

namespace {

namespace app = assistantd::app;
namespace http = assistantd::http;

const std::string kJwtSecret = "fuzz-jwt-secret-0123456789abcdefghijklmnopqrstuv";
const std::string kMasterKey = "3f1c9a7e5b2d4860f7e1a3c5b9d2e4f60a8c1e3b5d7f9a2c4e6b8d0f1a3c5e7b";

struct World {
  std::filesystem::path dir;
  std::unique_ptr<app::Service> service;
  http::ServerSettings settings;
  assistantd::Logger logger;
  std::string user_token, other_token, admin_token, refresh_token;

  World() {
    const char* shm = "/dev/shm";
    std::string pattern = (std::filesystem::is_directory(shm) && ::access(shm, W_OK) == 0
                               ? std::string(shm)
                               : std::filesystem::temp_directory_path().string()) +
                          "/assistantd-fuzz-XXXXXX";
    if (!::mkdtemp(pattern.data())) std::abort();
    dir = pattern;
    assistantd::config::ServeConfig c;
    c.data_dir = dir.string();
    c.jwt_secret = kJwtSecret;
    c.master_key = kMasterKey;
    c.log_level = "off";
    c.listen = "127.0.0.1:0";
    c.vapi_base_url = "http://127.0.0.1:9";  // never called: the sync workers are not started
    c.threads = 1;
    c.worker_threads = 2;
    c.access_token_ttl = "24h";
    c.max_waits = 0;  // nothing would ever end a wait: the sync workers do not run
    c.max_waits_per_user = 0;
    // Every input may reach every handler: no rate limits, no quotas.
    for (auto* rate : {&c.rate_limit_user, &c.rate_limit_test, &c.rate_limit_premium,
                       &c.rate_limit_admin, &c.rate_limit_token_ip, &c.rate_limit_signup_ip,
                       &c.rate_limit_signin_account, &c.rate_limit_refresh_account}) {
      *rate = "0";
    }
    c.max_assistants_user = c.max_assistants_test = c.max_assistants_premium = 0;
    auto made = app::Service::Make(c, {.password_hashing = assistantd::auth::PasswordSettings{
                                           .ops_limit = 1, .mem_limit = 8 * 1024}});
    if (!made) {
      std::fprintf(stderr, "fuzz_http: %s (%s)\n", made.error().message.c_str(),
                   made.error().internal.c_str());
      std::abort();
    }
    service = std::move(*made);
    settings = service->ServerSettings();
    logger = service->Logs().Make("http");
    const auto [user, refresh] = SignUp("fuzz-user@example.com");
    user_token = user;
    refresh_token = refresh;
    other_token = SignUp("fuzz-other@example.com").first;
    assistantd::auth::JwtSettings jwt;
    jwt.secret = kJwtSecret;
    admin_token = assistantd::auth::SignJwt(
        jwt, assistantd::auth::MakeClaims(jwt, std::nullopt, "service_role", std::nullopt,
                                          std::time(nullptr), 86400));
  }

  std::string Exchange(std::string_view input) {
    return http::ExchangeInMemory(settings, service->Handler(), logger, service->HandlerPool(),
                                  input);
  }

  // An account's access and refresh tokens, made through the service itself.
  std::pair<std::string, std::string> SignUp(const std::string& email) {
    const std::string body =
        nlohmann::json{{"email", email}, {"password", "fuzz-password-1"}}.dump();
    const std::string out = Exchange(
        "POST /auth/v1/signup HTTP/1.1\r\nHost: fuzz\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body);
    const auto start = out.find("\r\n\r\n");
    const auto json = nlohmann::json::parse(
        start == std::string::npos ? std::string() : out.substr(start + 4), nullptr, false);
    if (!json.is_object() || !json.contains("access_token")) {
      std::fprintf(stderr, "fuzz_http: sign-up failed: %s\n", out.c_str());
      std::abort();
    }
    return {json["access_token"].get<std::string>(), json["refresh_token"].get<std::string>()};
  }
};

World& TheWorld() {
  // Never destroyed: libFuzzer exits with the service's threads still running.
  static World* world = [] {
    auto* w = new World;
    static const std::filesystem::path dir = w->dir;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    return w;
  }();
  return *world;
}

void ReplaceAll(std::string& s, std::string_view from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

// The statuses of the responses in `out`, read as the client would (status line, headers,
// Content-Length bytes of body; none for 1xx, 204 and 304); nullopt if `out` is not a
// sequence of well-formed responses.
std::optional<std::vector<int>> Statuses(std::string_view out) {
  std::vector<int> statuses;
  while (!out.empty()) {
    const auto head_end = out.find("\r\n\r\n");
    if (head_end == std::string_view::npos || !out.starts_with("HTTP/1.")) return std::nullopt;
    const std::string_view head = out.substr(0, head_end + 2);
    int status = 0;
    const auto sp = head.find(' ');
    if (sp == std::string_view::npos ||
        std::from_chars(head.data() + sp + 1, head.data() + head.size(), status).ec !=
            std::errc()) {
      return std::nullopt;
    }
    size_t length = 0;
    constexpr std::string_view kLength = "\r\ncontent-length: ";
    std::string lower(head);
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (const auto at = lower.find(kLength); at != std::string::npos) {
      const char* first = lower.data() + at + kLength.size();
      if (std::from_chars(first, lower.data() + lower.size(), length).ec != std::errc()) {
        return std::nullopt;
      }
    } else if (status >= 200 && status != 204 && status != 304) {
      return std::nullopt;  // we always frame our bodies
    }
    if (head_end + 4 + length > out.size()) return std::nullopt;
    statuses.push_back(status);
    out.remove_prefix(head_end + 4 + length);
  }
  return statuses;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& world = TheWorld();
  std::string input(reinterpret_cast<const char*>(data), size);
  ReplaceAll(input, "@USER@", world.user_token);
  ReplaceAll(input, "@OTHER@", world.other_token);
  ReplaceAll(input, "@ADMIN@", world.admin_token);
  ReplaceAll(input, "@REFRESH@", world.refresh_token);
  const std::string out = world.Exchange(input);
  static const bool show = std::getenv("FUZZ_HTTP_SHOW") != nullptr;
  if (show) std::fprintf(stderr, "%s\n----\n", out.c_str());
  const auto statuses = Statuses(out);
  if (!statuses) {
    std::fprintf(stderr, "fuzz_http: not a sequence of HTTP responses:\n%s\n", out.c_str());
    __builtin_trap();
  }
  for (const int status : *statuses) {
    if (status == 500) {
      std::fprintf(stderr, "fuzz_http: answered 500:\n%s\n", out.c_str());
      __builtin_trap();
    }
  }
  const auto leaked = [&](const std::string& secret) {
    // An input the fuzzer made to contain the secret may well get it back (a name, say).
    return out.find(secret) != std::string::npos && input.find(secret) == std::string::npos;
  };
  if (leaked(kJwtSecret) || leaked(kMasterKey)) {
    std::fprintf(stderr, "fuzz_http: a secret was written back:\n%s\n", out.c_str());
    __builtin_trap();
  }
  return 0;
}
