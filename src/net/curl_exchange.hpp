#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace assistantd::net {

// One outgoing HTTP request as assistantd makes them (Vapi calls, JWKS fetches).
struct CurlRequest {
  const char* method = "GET";
  std::string url;
  std::vector<std::string> headers;   // "Name: value"
  const std::string* body = nullptr;  // sent when set
  long connect_timeout_ms = 5000;
  long timeout_ms = 30000;
  size_t max_response_bytes = size_t{1} << 20;
  std::vector<std::string> capture;  // lower-case names of response headers to keep
  const char* user_agent = "assistantd/0.1";
  std::string ca_file;  // PEM certificates to trust instead of the system's (empty: the system's)
};

struct CurlAnswer {
  bool ok = false;            // a complete HTTP answer arrived (any status)
  bool too_large = false;     // the body passed max_response_bytes (ok is then false)
  bool nothing_sent = false;  // failed before the request left (connect or resolve)
  std::string error;          // libcurl's words when !ok
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // the captured ones, values trimmed
};

// Performs `request` on `handle` (a CURL easy handle, reset first so its connection cache
// is kept): no redirects, http and https only, TLS verified, no signals, timeouts, a
// bounded body.
CurlAnswer Perform(void* handle, const CurlRequest& request);

// An easy handle of its own, for requests made one after another (its connections are
// reused between them).
class CurlSession {
 public:
  CurlSession();
  ~CurlSession();
  CurlSession(const CurlSession&) = delete;
  CurlSession& operator=(const CurlSession&) = delete;
  CurlAnswer Perform(const CurlRequest& request) { return net::Perform(handle_, request); }

 private:
  void* handle_;
};

// curl_global_init once per process (safe to call from any thread, any number of times).
void EnsureCurlInitialised();

}  // namespace assistantd::net
