#pragma once

#include "audit/audit_log.hpp"
#include "domain/user.hpp"
#include "http/router.hpp"

namespace assistantd::api {

// The actor of an audit entry: the request's caller, or `user` for the auth endpoints, where
// the request itself establishes who is acting.
inline audit::Actor ActorFor(const http::RequestContext& ctx) {
  audit::Actor a;
  if (ctx.principal) {
    a.user_id = ctx.principal->user_id;
    a.role = std::string(domain::ToString(ctx.principal->role));
  } else {
    a.role = "anon";
  }
  a.request_id = ctx.request_id;
  a.ip = ctx.request.remote_ip;
  return a;
}

inline audit::Actor ActorFor(const http::RequestContext& ctx, const domain::User& user) {
  audit::Actor a = ActorFor(ctx);
  a.user_id = user.id;
  a.role = std::string(domain::ToString(user.role));
  return a;
}

}  // namespace assistantd::api
