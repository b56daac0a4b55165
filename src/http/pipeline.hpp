#pragma once

#include <exception>
#include <functional>
#include <memory>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "domain/principal.hpp"
#include "http/error_mapping.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

namespace assistantd::http {

// Establishes who is calling from a request's credentials.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // `may_block` false: answer kWouldBlock (IsWouldBlock) rather than wait for anything.
  virtual Result<domain::Principal> Authenticate(const Request& request, bool may_block) = 0;
  // For routes any app may call (Access::kApp): the request's API key, if one is needed.
  virtual Result<void> AdmitApp(const Request&) { return {}; }
};

// Per-caller request rate limits, applied after authentication.
class Admission {
 public:
  virtual ~Admission() = default;
  // The headers to add to the response (RateLimit, RateLimit-Policy) when the caller may go
  // on; kRateLimited, with those headers and Retry-After, when not.
  virtual Result<std::vector<std::pair<std::string, std::string>>> Admit(
      const domain::Principal& principal, bool may_block) = 0;
};

// The one request path every request takes, as a plain function of request → response:
// request id, CORS, routing (404/405), media type, authentication and role guard, the
// handler, the error mapping, metrics and the access log.
class Pipeline {
 public:
  Pipeline(const Router& router, Authenticator& authenticator, Admission* admission,
           MetricsRegistry& metrics, Logger access_log, const Clock& clock);

  // Answers `request` by calling `respond` once: at once for most routes, later (from the
  // thread that completes the work) for asynchronous handlers.
  using Respond = std::function<void(Response)>;
  using Offload = std::function<void(std::function<void()>)>;
  void Handle(Request request, Respond respond);
  // The same, called on an I/O thread: what can be done there without blocking is (routes
  // added with AddNonBlocking whose caller is known from caches), everything else moves to
  // `offload` (the handler pool) at the first step that would wait.
  void HandleInline(Request request, Respond respond, Offload offload);
  // The same, waiting for the response.
  Response Handle(const Request& request);

 private:
  struct Call;
  // The response when the request was answered at once; nullopt when an asynchronous handler
  // took it over.
  std::optional<Response> Dispatch(const std::shared_ptr<Call>& call);
  void Start(const std::shared_ptr<Call>& call);
  // Runs the call again from the start on the handler pool (nothing it did so far is kept).
  std::optional<Response> MoveToPool(const std::shared_ptr<Call>& call);
  // The handler's result as a response: errors mapped and logged, limit headers added; a GET
  // of user data gets an ETag (weak, when the handler set none) and a matching If-None-Match
  // its 304.
  Response Answer(const Call& call, Result<Response> result);
  Response Unhandled(const Call& call, const std::exception& e);
  // Common headers, metrics and the access log; then hands the response over.
  void Finish(Call& call, Response response);

  const Router& router_;
  Authenticator& authenticator_;
  Admission* admission_;  // may be null: no per-caller limits
  MetricsRegistry& metrics_;
  Logger access_log_;
  const Clock& clock_;
};

// The request id to use: the client's X-Request-Id if it is sane, else a new UUID.
std::string RequestIdFor(const Request& request);

// CORS headers of every response (as Supabase functions answer them).
void AddCorsHeaders(Response& response);

}  // namespace assistantd::http
