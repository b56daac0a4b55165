#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "domain/principal.hpp"
#include "http/message.hpp"

namespace assistantd::http {

// What a handler gets: the request, its path parameters, its request id and, on
// authenticated routes, the caller.
struct RequestContext {
  const Request& request;
  std::vector<std::pair<std::string, std::string>> params;
  std::string request_id;
  std::optional<domain::Principal> principal;
  // The handler runs on an I/O thread and must not block: it answers what it can at once and
  // moves the rest to the handler pool (routes added with AddNonBlocking only).
  bool on_io_thread = false;

  std::string_view Param(std::string_view name) const;
  // The caller on an authenticated route (the pipeline guarantees it is set there).
  const domain::Principal& Caller() const { return *principal; }
};

using RouteHandler = std::function<Result<Response>(RequestContext&)>;
// A handler that answers later, from any thread, by calling its Reply exactly once (a write
// waiting for its group commit holds no thread meanwhile). The context stays valid until then.
using Reply = std::function<void(Result<Response>)>;
using AsyncRouteHandler = std::function<void(RequestContext&, Reply)>;
// Runs a task on another thread (the handler pool), for work an asynchronous handler's
// completion hands on.
using Executor = std::function<void(std::function<void()>)>;

// kPublic: anyone; kApp: an app's API key when API keys are configured (Supabase's /auth/v1);
// kAuthenticated: a caller's token or key; kAdmin: admin or service role.
enum class Access { kPublic, kApp, kAuthenticated, kAdmin };

struct Route {
  std::string method;
  std::string pattern;  // "/v1/assistants/{id}"; also the metrics/log label
  Access access = Access::kAuthenticated;
  RouteHandler handler;  // one of these two is set
  AsyncRouteHandler async_handler;
  std::vector<std::string> segments;
  bool non_blocking = false;  // may run on an I/O thread (see RequestContext::on_io_thread)
};

struct RouteMatch {
  const Route* route = nullptr;  // set when matched
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<std::string> allowed;  // methods, when path matched only
};

// Matches method + path against patterns with {param} segments.
class Router {
 public:
  void Add(std::string method, std::string pattern, Access access, RouteHandler handler);
  void AddAsync(std::string method, std::string pattern, Access access, AsyncRouteHandler handler);
  // An asynchronous handler that honours RequestContext::on_io_thread: the pipeline may call
  // it on an I/O thread, saving two thread hand-overs when it can answer from memory.
  void AddNonBlocking(std::string method, std::string pattern, Access access,
                      AsyncRouteHandler handler);
  RouteMatch Match(std::string_view method, std::string_view path) const;
  // Every route as "METHOD /pattern", in the order added (logged at start, checked against
  // docs/openapi.yaml).
  std::vector<std::string> Table() const;

 private:
  std::vector<Route> routes_;
};

}  // namespace assistantd::http
