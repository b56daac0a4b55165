#include "api/admin_api.hpp"

#include "api/request_parsing.hpp"
#include "common/time_format.hpp"

namespace assistantd::api {

void AdminApi::Register(http::Router& router) {
  router.Add("GET", "/v1/admin/users", http::Access::kAdmin,
             [this](auto& ctx) { return ListUsers(ctx); });
  router.Add("DELETE", "/v1/admin/users/{id}", http::Access::kAdmin,
             [this](auto& ctx) { return DeleteUser(ctx); });
}

Result<http::Response> AdminApi::ListUsers(http::RequestContext& ctx) {
  auto params = ParseQueryParams(ctx.request, {"cursor", "limit"});
  if (!params) return tl::unexpected(params.error());
  int limit = domain::kDefaultListLimit;
  std::optional<domain::ListCursor> after;
  for (const auto& [name, value] : *params) {
    if (name == "limit") {
      auto l = ParseLimit(value, domain::kMaxListLimit);
      if (!l) return tl::unexpected(l.error());
      limit = *l;
    } else {
      auto c = ParseCursor(value);
      if (!c) return tl::unexpected(c.error());
      after = *c;
    }
  }
  auto page = users_.ListUsers(after, limit);
  if (!page) return tl::unexpected(page.error());
  nlohmann::json data = nlohmann::json::array();
  for (const auto& u : page->items) {
    data.push_back({{"id", u.id},
                    {"email", u.email ? nlohmann::json(*u.email) : nlohmann::json(nullptr)},
                    {"role", domain::ToString(u.role)},
                    {"createdAt", FormatTimestamp(u.created_at_us)},
                    {"updatedAt", FormatTimestamp(u.updated_at_us)}});
  }
  return PageResponse(std::move(data), page->next);
}

Result<http::Response> AdminApi::DeleteUser(http::RequestContext& ctx) {
  auto id = ParseIdParam(ctx.Param("id"), "User");
  if (!id) return tl::unexpected(id.error());
  auto deleted = users_.DeleteUser(*id, clock_.NowMicros());
  if (!deleted) return tl::unexpected(deleted.error());
  authenticator_.Forget(*id);
  notifier_.Notify();
  if (!*deleted) return Fail(ErrorCode::kNotFound, "not_found", "User not found");
  return http::Response::Empty(204);
}

}  // namespace assistantd::api
