#include "api/keys_api.hpp"

#include "api/audit_actor.hpp"
#include "api/request_parsing.hpp"
#include "common/time_format.hpp"

namespace assistantd::api {
namespace {

struct Scope {
  std::string name;   // "user" or "global"
  std::string owner;  // user id or storage::kGlobalKeyOwner
};

// Which key a request addresses: the caller's own, or (admins) the global one.
Result<Scope> ScopeOf(const http::RequestContext& ctx) {
  auto params = ParseQueryParams(ctx.request, {"scope"});
  if (!params) return tl::unexpected(params.error());
  const std::string scope = params->empty() ? "user" : params->front().second;
  const auto& caller = ctx.Caller();
  if (scope == "global") {
    if (!domain::IsAdmin(caller)) {
      return Fail(ErrorCode::kForbidden, "forbidden", "Only admins may manage the global key");
    }
    return Scope{"global", storage::kGlobalKeyOwner};
  }
  if (scope != "user") {
    return Fail(ErrorCode::kInvalidInput, "invalid_query", "scope must be user or global");
  }
  if (!caller.user_id) {
    return Fail(ErrorCode::kInvalidInput, "invalid_query",
                "A token without sub has no own key; use ?scope=global");
  }
  return Scope{"user", *caller.user_id};
}

// `usable`: the stored key opens with the master keys in force (a key sealed under a master
// key since replaced is configured but unusable until it is stored again).
http::Response KeyView(int status, const Scope& scope, const std::optional<storage::StoredKey>& key,
                       const auth::SecretBox& box) {
  return http::Response::Json(
      status, {{"scope", scope.name},
               {"configured", key.has_value()},
               {"usable", key.has_value() && box.Open(key->sealed).has_value()},
               {"masked", key ? nlohmann::json("••••" + key->last4) : nlohmann::json(nullptr)},
               {"updatedAt", key ? nlohmann::json(FormatTimestamp(key->updated_at_us))
                                 : nlohmann::json(nullptr)}});
}

}  // namespace

void KeysApi::Register(http::Router& router) {
  router.Add("PUT", "/v1/config/vapi-key", http::Access::kAuthenticated,
             [this](auto& ctx) { return Put(ctx); });
  router.Add("GET", "/v1/config/vapi-key", http::Access::kAuthenticated,
             [this](auto& ctx) { return Get(ctx); });
  router.Add("DELETE", "/v1/config/vapi-key", http::Access::kAuthenticated,
             [this](auto& ctx) { return Delete(ctx); });
}

Result<http::Response> KeysApi::Put(http::RequestContext& ctx) {
  auto scope = ScopeOf(ctx);
  if (!scope) return tl::unexpected(scope.error());
  auto body = ParseObjectBody(ctx.request);
  if (!body) return tl::unexpected(body.error());
  nlohmann::json details = nlohmann::json::array();
  for (const auto& [k, v] : body->items()) {
    if (k != "apiKey") details.push_back({{"field", k}, {"message", "is not a known field"}});
  }
  const auto it = body->find("apiKey");
  std::string key;
  if (it == body->end() || !it->is_string()) {
    details.push_back({{"field", "apiKey"}, {"message", "is required and must be a string"}});
  } else {
    key = it->get<std::string>();
    if (!IsPlausibleVapiKey(key)) {
      details.push_back({{"field", "apiKey"},
                         {"message", "must be 8-256 printable ASCII characters without spaces"}});
    }
  }
  if (!details.empty()) return ValidationFailed(std::move(details));
  const storage::StoredKey stored{box_.Seal(key), key.substr(key.size() - 4), clock_.NowMicros()};
  const std::optional<std::string> subject =
      scope->name == "user" ? std::optional<std::string>(scope->owner) : std::nullopt;
  if (auto r = keys_.PutKey(scope->owner, stored,
                            audit_.Entry(ActorFor(ctx), {"vapi_key.put",
                                                         "vapi_key",
                                                         scope->owner,
                                                         subject,
                                                         nullptr,
                                                         {{"scope", scope->name},
                                                          {"masked", "••••" + stored.last4}}}));
      !r) {
    return tl::unexpected(r.error());
  }
  audit_.Appended();
  const bool global = scope->owner == storage::kGlobalKeyOwner;
  if (auto r = sync_.WakeQueued(global ? std::nullopt : std::optional<std::string>(scope->owner),
                                clock_.NowMicros());
      !r) {
    return tl::unexpected(r.error());
  }
  notifier_.Notify();
  return KeyView(200, *scope, stored, box_);
}

Result<http::Response> KeysApi::Get(http::RequestContext& ctx) {
  auto scope = ScopeOf(ctx);
  if (!scope) return tl::unexpected(scope.error());
  auto key = keys_.GetKey(scope->owner);
  if (!key) return tl::unexpected(key.error());
  return KeyView(200, *scope, *key, box_);
}

Result<http::Response> KeysApi::Delete(http::RequestContext& ctx) {
  auto scope = ScopeOf(ctx);
  if (!scope) return tl::unexpected(scope.error());
  auto deleted = keys_.DeleteKey(
      scope->owner,
      audit_.Entry(ActorFor(ctx),
                   {"vapi_key.delete",
                    "vapi_key",
                    scope->owner,
                    scope->name == "user" ? std::optional<std::string>(scope->owner) : std::nullopt,
                    {{"scope", scope->name}},
                    nullptr}));
  if (!deleted) return tl::unexpected(deleted.error());
  if (!*deleted) return Fail(ErrorCode::kNotFound, "not_found", "No key is stored here");
  audit_.Appended();
  return http::Response::Empty(204);
}

}  // namespace assistantd::api
