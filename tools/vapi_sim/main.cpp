// vapi-sim: an in-memory Vapi assistants API with fault injection, for tests, benchmarks and
// the offline demo. See docs/vapi-sim.md.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/logging.hpp"
#include "config/config.hpp"
#include "http/server.hpp"
#include "vapi_sim/vapi_sim.hpp"

int main(int argc, char** argv) {
  using namespace assistantd;
  CLI::App app{"vapi-sim: the Vapi assistants API served from memory, with fault injection"};
  std::string listen = "127.0.0.1:8787";
  std::string log_level = "info";
  std::string fail_statuses = "500,502,503,429";
  vapisim::SimSettings settings;
  auto& f = settings.faults;
  app.add_option("--listen", listen, "HOST:PORT (port 0: any free port)")->capture_default_str();
  app.add_option("--api-key", settings.api_keys,
                 "Accepted bearer key (repeatable); none: any non-empty key")
      ->take_all();
  app.add_option("--latency-ms", f.latency_ms, "Added latency per API request")
      ->check(CLI::Range(0, 600000));
  app.add_option("--fail-rate", f.fail_rate, "Share of transient failures (0..1)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--fail-statuses", fail_statuses, "Statuses of injected failures")
      ->capture_default_str();
  app.add_option("--hang-rate", f.hang_rate, "Share of requests never answered (0..1)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--reset-rate", f.reset_rate, "Share of connections reset (0..1)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--commit-then-fail-rate", f.commit_then_fail_rate,
                 "Share of creates stored but answered 500 (0..1)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--retry-after-seconds", f.retry_after_seconds, "Retry-After on injected 429s")
      ->check(CLI::Range(0, 3600));
  app.add_option("--seed", f.seed, "Random seed for faults (0: random)");
  app.add_option("--log-level", log_level, "trace … off")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<int> statuses;
  for (size_t start = 0; start <= fail_statuses.size();) {
    size_t end = fail_statuses.find(',', start);
    if (end == std::string::npos) end = fail_statuses.size();
    try {
      const int s = std::stoi(fail_statuses.substr(start, end - start));
      if (s < 400 || s > 599) throw std::out_of_range("status");
      statuses.push_back(s);
    } catch (const std::exception&) {
      std::fprintf(stderr, "vapi-sim: --fail-statuses must list HTTP statuses 400-599\n");
      return 1;
    }
    start = end + 1;
  }
  f.fail_statuses = statuses;
  const auto address = config::ParseListen(listen);
  if (!address) {
    std::fprintf(stderr, "vapi-sim: %s\n", address.error().message.c_str());
    return 1;
  }
  if (!IsValidLogLevel(log_level)) {
    std::fprintf(
        stderr, "vapi-sim: --log-level must be trace, debug, info, warn, error, critical or off\n");
    return 1;
  }

  LogFactory logs(log_level);
  const Logger log = logs.Make("vapi-sim");
  SystemClock clock;
  vapisim::VapiSim sim(settings, clock);
  http::ServerSettings server_settings;
  server_settings.host = address->host;
  server_settings.port = address->port;
  server_settings.io_threads = 1;
  server_settings.worker_threads = 64;  // injected latency blocks a worker per request
  server_settings.shutdown_timeout = std::chrono::seconds(2);
  http::Server server(
      server_settings, [&sim](const http::Request& r) { return sim.Handle(r); }, log);
  auto port = server.Listen();
  if (!port) {
    std::fprintf(stderr, "vapi-sim: %s\n", port.error().message.c_str());
    return 1;
  }
  LogEvent(log, spdlog::level::info, "listening",
           {{"address", address->host + ":" + std::to_string(*port)},
            {"faults", vapisim::FaultsToJson(settings.faults)}});
  server.Run();
  return 0;
}
