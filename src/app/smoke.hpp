#pragma once

#include <string>

namespace assistantd::app {

// `assistantd smoke`: checks a deployed server from outside, as a deploy pipeline would
// after a release (docs/deploy.md, "Smoke test").
struct SmokeOptions {
  std::string url;           // the server's base URL (through the proxy, as clients see it)
  std::string service_key;   // sb_secret_… or a service_role JWT: a throwaway user is made
  std::string token;         // or a user's access token, used as it is
  std::string apikey;        // sent as `apikey` with --token (a publishable key), optional
  bool expect_sync = false;  // the assistant must reach Vapi and leave it again
  std::string metrics_url;   // empty: <url>/metrics; "off": not checked
  long timeout_ms = 20000;   // per request (a synced write waits up to 10 s)
  std::string ca_file;       // trust these certificates (a private CA) instead of the system's
};

// Prints one line per check to standard output, then a summary. Exit code 0 when every check
// passed, 1 at the first that failed (the throwaway user and assistant are removed either way).
int RunSmoke(const SmokeOptions& options);

}  // namespace assistantd::app
