#pragma once

#include <string>
#include <vector>

#include "net/curl_exchange.hpp"

namespace assistantd::app {

// A running server as the CLI reaches it from outside (smoke, reconcile --url): its base URL
// and one credential.
struct RemoteTarget {
  std::string url;          // the server's base URL (through the proxy, as clients see it)
  std::string service_key;  // sb_secret_… or a service_role JWT
  std::string token;        // or an access token, used as it is
  std::string apikey;       // sent as `apikey` with --token (a publishable key), optional
  std::string ca_file;      // trust these certificates (a private CA) instead of the system's
  long timeout_ms = 20000;  // per request
};

// Why `target` cannot be used (for standard error), or empty.
std::string CheckTarget(const RemoteTarget& target);

// `url` without trailing slashes.
std::string BaseUrl(const RemoteTarget& target);

// The headers that carry the target's credential.
std::vector<std::string> CredentialHeaders(const RemoteTarget& target);

// A JSON request to the target (timeouts, CA file and a bounded body set from it).
net::CurlRequest JsonRequest(const RemoteTarget& target, const char* method, std::string url,
                             std::vector<std::string> headers, const std::string* body);

struct ReconcileOptions;
// `assistantd reconcile --url`: POST /v1/admin/reconcile on the running server, the summary
// printed as the local command prints it. Exit code 0 complete, 2 incomplete, 1 refused or
// unreachable (the server's error on standard error).
int RunRemoteReconcile(const RemoteTarget& target, const ReconcileOptions& options);

}  // namespace assistantd::app
