#pragma once

#include <string>

#include "app/remote.hpp"

namespace assistantd::app {

// `assistantd smoke`: checks a deployed server from outside, as a deploy pipeline would
// after a release (docs/deploy.md, "Smoke test").
struct SmokeOptions {
  RemoteTarget target;       // with a service key a throwaway user is made; a token is used as is
  bool expect_sync = false;  // the assistant must reach Vapi and leave it again
  std::string metrics_url;   // empty: <url>/metrics; "off": not checked
};

// Prints one line per check to standard output, then a summary. Exit code 0 when every check
// passed, 1 at the first that failed (the throwaway user and assistant are removed either way).
int RunSmoke(const SmokeOptions& options);

}  // namespace assistantd::app
