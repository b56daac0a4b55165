#include "api/health_api.hpp"

namespace assistantd::api {

void HealthApi::Register(http::Router& router) {
  router.Add("GET", "/healthz", http::Access::kPublic, [](http::RequestContext&) {
    return Result<http::Response>(http::Response::Json(200, {{"status", "ok"}}));
  });
  router.Add("GET", "/readyz", http::Access::kPublic,
             [this](http::RequestContext&) -> Result<http::Response> {
               if (auto r = db_.CheckReady(); !r) return tl::unexpected(r.error());
               return http::Response::Json(200, {{"status", "ready"}});
             });
  router.Add("GET", "/metrics", http::Access::kPublic, [this](http::RequestContext&) {
    http::Response r;
    r.SetHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.body = metrics_.Render();
    return Result<http::Response>(std::move(r));
  });
}

}  // namespace assistantd::api
