#include "http/pipeline.hpp"

#include <chrono>
#include <exception>
#include <future>
#include <memory>

#include "common/ascii.hpp"
#include "common/uuid.hpp"
#include "http/conditional.hpp"
#include "http/error_mapping.hpp"

namespace assistantd::http {
namespace {

// A metric label for the request method: one of RFC 9110's methods (and PATCH), else "other",
// so clients cannot mint label values (each would be a new time series held forever).
std::string_view MethodLabel(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET",    "HEAD",    "POST",  "PUT",    "PATCH",
                                                "DELETE", "OPTIONS", "TRACE", "CONNECT"};
  for (const auto known : kKnown) {
    if (method == known) return known;
  }
  return "other";
}

constexpr const char* kAllowHeaders =
    "authorization, x-client-info, apikey, content-type, x-supabase-api-version, x-region, "
    "x-retry-count, traceparent, tracestate, baggage, accept, x-request-id, if-match, "
    "if-none-match, prefer, x-vapi-api-key";
constexpr const char* kExposeHeaders =
    "X-Request-Id, X-Supabase-Api-Version, RateLimit, RateLimit-Policy, Retry-After, ETag, "
    "Location, Preference-Applied";

bool IsJsonMediaType(std::string_view content_type) {
  auto media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  const std::string lower = AsciiLower(media);
  return lower == "application/json" ||
         (lower.starts_with("application/") && lower.ends_with("+json"));
}

// Routes whose answers are one caller's data.
bool IsUserData(Access access) {
  return access == Access::kAuthenticated || access == Access::kAdmin;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

std::string RequestIdFor(const Request& request) {
  if (const auto id = request.Header("x-request-id"); id && !id->empty() && id->size() <= 128) {
    bool ok = true;
    for (const char c : *id) {
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
                  c == ':');
    }
    if (ok) return std::string(*id);
  }
  return NewRequestId();
}

void AddCorsHeaders(Response& response) {
  response.SetHeader("Access-Control-Allow-Origin", "*");
  response.SetHeader("Access-Control-Expose-Headers", kExposeHeaders);
}

Pipeline::Pipeline(const Router& router, Authenticator& authenticator, Admission* admission,
                   MetricsRegistry& metrics, Logger access_log, const Clock& clock)
    : router_(router),
      authenticator_(authenticator),
      admission_(admission),
      metrics_(metrics),
      access_log_(std::move(access_log)),
      clock_(clock) {
  metrics_.DeclareCounter("assistantd_http_requests_total",
                          "HTTP requests by method, route template and status");
  metrics_.DeclareHistogram("assistantd_http_request_duration_seconds",
                            "HTTP request latency by method, route template and status",
                            LatencyBuckets());
}

// One request on its way through the pipeline; lives until its response is handed over.
struct Pipeline::Call {
  Request request;
  Respond respond;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::string request_id;
  std::string route = "unmatched";
  Access access = Access::kPublic;  // the matched route's
  std::optional<std::string> user_id;
  bool supabase_auth = false;
  ErrorStyle style = ErrorStyle::kDefault;
  std::vector<std::pair<std::string, std::string>> limit_headers;
  std::optional<RequestContext> ctx;
  Offload offload;  // set while it runs on an I/O thread
};

Response Pipeline::Handle(const Request& request) {
  std::promise<Response> promise;
  auto future = promise.get_future();
  Handle(request, [&promise](Response r) { promise.set_value(std::move(r)); });
  return future.get();
}

void Pipeline::Handle(Request request, Respond respond) {
  HandleInline(std::move(request), std::move(respond), {});
}

void Pipeline::HandleInline(Request request, Respond respond, Offload offload) {
  auto call = std::make_shared<Call>();
  call->request = std::move(request);
  call->respond = std::move(respond);
  call->offload = std::move(offload);
  call->request_id = RequestIdFor(call->request);
  call->supabase_auth = call->request.path.starts_with("/auth/v1/");
  call->style = call->supabase_auth ? ErrorStyle::kGoTrue : ErrorStyle::kDefault;
  Start(call);
}

std::optional<Response> Pipeline::MoveToPool(const std::shared_ptr<Call>& call) {
  const Offload offload = std::move(call->offload);
  call->offload = nullptr;
  call->limit_headers.clear();
  offload([this, call] { Start(call); });
  return std::nullopt;
}

void Pipeline::Start(const std::shared_ptr<Call>& call) {
  std::optional<Response> response;
  try {
    response = Dispatch(call);
  } catch (const std::exception& e) {
    response = Unhandled(*call, e);
  }
  if (response) Finish(*call, std::move(*response));
}

Response Pipeline::Unhandled(const Call& call, const std::exception& e) {
  LogEvent(access_log_, spdlog::level::err, "unhandled exception",
           {{"requestId", call.request_id}, {"error", e.what()}});
  return ErrorResponse(Internal(std::string("unhandled exception: ") + e.what()).value(),
                       call.request_id, call.style);
}

Response Pipeline::Answer(const Call& call, Result<Response> result) {
  if (result) {
    for (const auto& [name, value] : call.limit_headers) result->SetHeader(name, value);
    // Reads of user data carry a validator: the handler's strong tag where it keeps one, else
    // a weak one of the body, so any such GET can be revalidated with If-None-Match.
    if (IsUserData(call.access) && call.request.method == "GET" && result->status == 200 &&
        !result->Header("ETag")) {
      result->SetHeader("ETag", WeakEtag(result->body));
    }
    if (auto not_modified = RevalidateGet(call.request, *result)) return std::move(*not_modified);
    return std::move(*result);
  }
  const Error& e = result.error();
  if (e.code == ErrorCode::kInternal || !e.internal.empty()) {
    LogEvent(access_log_, e.code == ErrorCode::kInternal ? spdlog::level::err : spdlog::level::warn,
             "request failed",
             {{"requestId", call.request_id}, {"reason", e.reason}, {"detail", e.internal}});
  }
  Response failed = ErrorResponse(e, call.request_id, call.style);
  for (const auto& [name, value] : call.limit_headers) failed.SetHeader(name, value);
  return failed;
}

void Pipeline::Finish(Call& call, Response response) {
  const Request& request = call.request;
  response.SetHeader("X-Request-Id", call.request_id);
  if (call.supabase_auth) response.SetHeader("X-Supabase-Api-Version", kSupabaseApiVersion);
  AddCorsHeaders(response);
  // User data may be kept by the browser but must be revalidated, and never by a shared cache.
  if (IsUserData(call.access) && !response.Header("Cache-Control")) {
    response.SetHeader("Cache-Control", "private, no-cache");
  }

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - call.start).count();
  const std::string status = std::to_string(response.status);
  const std::string method(MethodLabel(request.method));
  metrics_
      .Counter("assistantd_http_requests_total",
               {{"method", method}, {"route", call.route}, {"status", status}})
      .Inc();
  metrics_
      .Histogram("assistantd_http_request_duration_seconds",
                 {{"method", method}, {"route", call.route}, {"status", status}})
      .Observe(seconds);
  if (access_log_->should_log(spdlog::level::info)) {
    nlohmann::json fields = {
        {"method", request.method},     {"route", call.route},
        {"status", response.status},    {"latencyUs", static_cast<int64_t>(seconds * 1e6)},
        {"requestId", call.request_id}, {"remoteIp", request.remote_ip}};
    fields["userId"] = call.user_id ? nlohmann::json(*call.user_id) : nlohmann::json(nullptr);
    LogEvent(access_log_, spdlog::level::info, "request", fields);
  }
  call.respond(std::move(response));
}

std::optional<Response> Pipeline::Dispatch(const std::shared_ptr<Call>& call) {
  const Request& request = call->request;
  const std::string& request_id = call->request_id;
  const ErrorStyle style = call->style;
  std::string& route = call->route;
  std::optional<std::string>& user_id = call->user_id;
  if (request.method == "OPTIONS") {
    const RouteMatch m = router_.Match("GET", request.path);
    if (!m.route && m.allowed.empty()) {
      return ErrorResponse(Error{ErrorCode::kNotFound,
                                 "route_not_found",
                                 "No such endpoint",
                                 nlohmann::json::array(),
                                 {}},
                           request_id, style);
    }
    route = m.route ? m.route->pattern : "preflight";
    // Supabase functions answer a preflight with 200 "ok".
    Response r;
    r.status = 200;
    r.body = "ok";
    r.SetHeader("Content-Type", "text/plain; charset=utf-8");
    r.SetHeader("Access-Control-Allow-Headers", kAllowHeaders);
    r.SetHeader("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
    r.SetHeader("Access-Control-Max-Age", "86400");
    return r;
  }

  RouteMatch match = router_.Match(request.method, request.path);
  if (!match.route) {
    if (!match.allowed.empty()) {
      Response r = ErrorResponse(Error{ErrorCode::kMethodNotAllowed,
                                       "method_not_allowed",
                                       "Method " + request.method + " is not allowed here",
                                       nlohmann::json::array(),
                                       {}},
                                 request_id, style);
      r.SetHeader("Allow", Join(match.allowed));
      return r;
    }
    return ErrorResponse(Error{ErrorCode::kNotFound,
                               "route_not_found",
                               "No such endpoint",
                               nlohmann::json::array(),
                               {}},
                         request_id, style);
  }
  const Route& r = *match.route;
  route = r.pattern;
  call->access = r.access;
  const bool on_io_thread = static_cast<bool>(call->offload);
  if (on_io_thread && !r.non_blocking) return MoveToPool(call);

  if ((request.method == "POST" || request.method == "PUT" || request.method == "PATCH") &&
      !request.body.empty()) {
    const auto ct = request.Header("content-type");
    if (!ct || !IsJsonMediaType(*ct)) {
      return ErrorResponse(Error{ErrorCode::kUnsupportedMediaType,
                                 "unsupported_media_type",
                                 "Request bodies must be application/json",
                                 nlohmann::json::array(),
                                 {}},
                           request_id, style);
    }
  }

  call->ctx.emplace(
      RequestContext{request, std::move(match.params), request_id, std::nullopt, on_io_thread});
  RequestContext& ctx = *call->ctx;
  if (r.access == Access::kApp) {
    if (auto admitted = authenticator_.AdmitApp(request); !admitted) {
      return ErrorResponse(admitted.error(), request_id, style);
    }
  } else if (r.access != Access::kPublic) {
    auto principal = authenticator_.Authenticate(request, !on_io_thread);
    if (!principal && on_io_thread && IsWouldBlock(principal.error())) return MoveToPool(call);
    if (!principal) return ErrorResponse(principal.error(), request_id, style);
    ctx.principal = std::move(*principal);
    user_id = ctx.principal->user_id;
    if (r.access == Access::kAdmin && !domain::IsAdmin(*ctx.principal)) {
      return ErrorResponse(Error{ErrorCode::kForbidden,
                                 "forbidden",
                                 "This endpoint requires the admin role",
                                 nlohmann::json::array(),
                                 {}},
                           request_id, style);
    }
  }
  if (admission_ && ctx.principal) {
    auto admitted = admission_->Admit(*ctx.principal, !on_io_thread);
    if (!admitted && on_io_thread && IsWouldBlock(admitted.error())) return MoveToPool(call);
    if (!admitted) return ErrorResponse(admitted.error(), request_id, style);
    call->limit_headers = std::move(*admitted);
  }
  if (r.async_handler) {
    r.async_handler(ctx, [this, call](Result<Response> result) {
      Response response;
      try {
        response = Answer(*call, std::move(result));
      } catch (const std::exception& e) {
        response = Unhandled(*call, e);
      }
      Finish(*call, std::move(response));
    });
    return std::nullopt;
  }
  return Answer(*call, r.handler(ctx));
}

}  // namespace assistantd::http
