#include "api/profile_api.hpp"

#include <charconv>
#include <regex>

#include "api/audit_actor.hpp"
#include "api/request_parsing.hpp"
#include "common/json_util.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"
#include "domain/account_rules.hpp"

namespace assistantd::api {
namespace {

using nlohmann::json;

constexpr size_t kMaxDisplayName = 100;
constexpr size_t kMaxPreferenceText = 100;
constexpr int kMaxAuditPage = 200;

// A short printable string, or a violation.
void CheckText(const json& v, const std::string& field, size_t max, json& details) {
  if (!v.is_string()) {
    details.push_back(Violation(field, "must be a string or null"));
  } else if (Utf8Length(v.get_ref<const std::string&>()) > max) {
    details.push_back(Violation(field, "must be at most " + std::to_string(max) + " characters"));
  } else if (v.get_ref<const std::string&>().empty()) {
    details.push_back(Violation(field, "must not be empty (use null to clear it)"));
  }
}

// {provider, <id member>}: both short strings.
void CheckChoice(const json& v, const std::string& field, const char* id_member, json& details) {
  if (!v.is_object()) {
    details.push_back(
        Violation(field, std::string("must be an object {provider, ") + id_member + "}"));
    return;
  }
  for (const auto& [k, m] : v.items()) {
    if (k != "provider" && k != id_member) {
      details.push_back(Violation(field + "." + k, "unknown field"));
    } else {
      CheckText(m, field + "." + k, kMaxPreferenceText, details);
    }
  }
  if (!v.contains("provider") || !v.contains(id_member)) {
    details.push_back(Violation(field, std::string("needs provider and ") + id_member));
  }
}

}  // namespace

json ProfileJson(const domain::User& u) {
  json prefs = json::object();
  for (const char* name : {"language", "timezone", "defaultVoice", "defaultModel"}) {
    prefs[name] = u.preferences.contains(name) ? u.preferences[name] : json(nullptr);
  }
  return {{"id", u.id},
          {"email", u.email ? json(*u.email) : json(nullptr)},
          {"role", domain::ToString(u.role)},
          {"displayName", u.display_name ? json(*u.display_name) : json(nullptr)},
          {"preferences", prefs},
          {"createdAt", FormatTimestamp(u.created_at_us)},
          {"updatedAt", FormatTimestamp(u.updated_at_us)}};
}

Result<void> ApplyProfilePatch(const json& body, domain::User& user) {
  json details = json::array();
  static const std::regex kLanguage("[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*");
  static const std::regex kTimezone("UTC|[A-Za-z]+(/[A-Za-z0-9_+\\-]+){1,2}");
  for (const auto& [k, v] : body.items()) {
    if (k == "displayName") {
      if (!v.is_null()) CheckText(v, k, kMaxDisplayName, details);
    } else if (k == "preferences") {
      if (!v.is_object()) {
        details.push_back(Violation(k, "must be an object"));
        continue;
      }
      for (const auto& [p, pv] : v.items()) {
        const std::string field = "preferences." + p;
        if (pv.is_null()) continue;
        if (p == "language") {
          CheckText(pv, field, 35, details);
          if (pv.is_string() && !std::regex_match(pv.get_ref<const std::string&>(), kLanguage)) {
            details.push_back(
                Violation(field, "must be a BCP 47 language tag such as en or fr-CA"));
          }
        } else if (p == "timezone") {
          CheckText(pv, field, 64, details);
          if (pv.is_string() && !std::regex_match(pv.get_ref<const std::string&>(), kTimezone)) {
            details.push_back(Violation(field, "must be an IANA time zone such as Europe/Paris"));
          }
        } else if (p == "defaultVoice") {
          CheckChoice(pv, field, "voiceId", details);
        } else if (p == "defaultModel") {
          CheckChoice(pv, field, "model", details);
        } else {
          details.push_back(Violation(field, "unknown preference"));
        }
      }
    } else {
      details.push_back(Violation(k, "unknown field"));
    }
  }
  if (!details.empty()) return ValidationFailed(std::move(details));
  if (body.contains("displayName")) {
    const auto& v = body["displayName"];
    user.display_name =
        v.is_null() ? std::nullopt : std::optional<std::string>(v.get<std::string>());
  }
  if (body.contains("preferences")) {
    user.preferences = domain::MergeMetadata(user.preferences, body["preferences"]);
  }
  return {};
}

json AuditEntryJson(const domain::AuditEntry& e) {
  const auto opt = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
  return {{"seq", e.seq},
          {"at", FormatTimestamp(e.at_us)},
          {"actorId", opt(e.actor_id)},
          {"actorRole", e.actor_role},
          {"action", e.action},
          {"targetType", e.target_type},
          {"targetId", opt(e.target_id)},
          {"subjectUserId", opt(e.subject_user_id)},
          {"requestId", e.request_id},
          {"ip", e.ip},
          {"before", e.before},
          {"after", e.after},
          {"hash", e.hash},
          {"prevHash", e.prev_hash}};
}

void ProfileApi::Register(http::Router& router) {
  using http::Access;
  router.Add("GET", "/v1/profile", Access::kAuthenticated,
             [this](auto& c) { return GetProfile(c); });
  router.Add("PATCH", "/v1/profile", Access::kAuthenticated,
             [this](auto& c) { return PatchProfile(c); });
  router.Add("GET", "/v1/profile/audit", Access::kAuthenticated,
             [this](auto& c) { return OwnAudit(c); });
  router.Add("GET", "/v1/admin/audit", Access::kAdmin, [this](auto& c) { return AdminAudit(c); });
}

Result<domain::User> ProfileApi::Me(const http::RequestContext& ctx) {
  const auto& caller = ctx.Caller();
  if (!caller.user_id) {
    return Fail(ErrorCode::kInvalidInput, "no_user", "This token has no user (no sub claim)");
  }
  auto user = users_.GetUser(*caller.user_id);
  if (!user) return tl::unexpected(user.error());
  if (!*user) return Fail(ErrorCode::kNotFound, "not_found", "User not found");
  return std::move(**user);
}

Result<http::Response> ProfileApi::GetProfile(http::RequestContext& ctx) {
  auto me = Me(ctx);
  if (!me) return tl::unexpected(me.error());
  return http::Response::Json(200, ProfileJson(*me));
}

Result<http::Response> ProfileApi::PatchProfile(http::RequestContext& ctx) {
  auto body = ParseObjectBody(ctx.request);
  if (!body) return tl::unexpected(body.error());
  auto me = Me(ctx);
  if (!me) return tl::unexpected(me.error());
  domain::User user = *me;
  if (auto r = ApplyProfilePatch(*body, user); !r) return tl::unexpected(r.error());
  user.updated_at_us = clock_.NowMicros();
  auto updated = users_.UpdateUser(
      user, audit_.Entry(ActorFor(ctx), {"profile.update", "user", user.id, user.id,
                                         ProfileJson(*me), ProfileJson(user)}));
  if (!updated) return tl::unexpected(updated.error());
  if (!*updated) return Fail(ErrorCode::kNotFound, "not_found", "User not found");
  audit_.Appended();
  return http::Response::Json(200, ProfileJson(user));
}

namespace {

// Filters shared by both audit listings; `admin` allows actor and user filters.
Result<storage::AuditQuery> ParseAuditQuery(const http::Request& request, bool admin) {
  std::vector<std::string_view> allowed = {"action", "target", "since", "until", "cursor", "limit"};
  if (admin) {
    allowed.push_back("actor");
    allowed.push_back("user");
  }
  auto params = ParseQueryParams(request, allowed);
  if (!params) return tl::unexpected(params.error());
  storage::AuditQuery q;
  q.limit = 50;
  json details = json::array();
  for (const auto& [name, value] : *params) {
    if (name == "limit") {
      auto l = ParseLimit(value, kMaxAuditPage);
      if (!l) return tl::unexpected(l.error());
      q.limit = *l;
    } else if (name == "cursor") {
      int64_t seq = 0;
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seq);
      if (ec != std::errc() || p != value.data() + value.size() || seq <= 0) {
        details.push_back(Violation("cursor", "must be a cursor from a previous page"));
      }
      q.before_seq = seq;
    } else if (name == "since" || name == "until") {
      const auto t = ParseTimestamp(value);
      if (!t) details.push_back(Violation(name, "must be an RFC 3339 timestamp"));
      (name == "since" ? q.since_us : q.until_us) = t;
    } else if (name == "actor" || name == "user") {
      const auto id = NormalizeUuid(value);
      if (!id) details.push_back(Violation(name, "must be a user id (UUID)"));
      (name == "actor" ? q.actor_id : q.subject_or_actor) = id;
    } else if (name == "action") {
      if (value.empty() || value.size() > 64)
        details.push_back(Violation(name, "must be 1-64 characters"));
      q.action = value;
    } else {
      if (value.empty() || value.size() > 128)
        details.push_back(Violation(name, "must be 1-128 characters"));
      q.target_id = value;
    }
  }
  if (!details.empty()) {
    return Fail(ErrorCode::kInvalidInput, "invalid_query", "The query string is invalid",
                std::move(details));
  }
  return q;
}

Result<http::Response> AuditPage(storage::AuditStore& store, const storage::AuditQuery& q) {
  storage::AuditQuery probe = q;
  probe.limit = q.limit + 1;
  auto entries = store.QueryAudit(probe);
  if (!entries) return tl::unexpected(entries.error());
  json data = json::array();
  std::optional<int64_t> next;
  for (size_t i = 0; i < entries->size() && i < static_cast<size_t>(q.limit); ++i) {
    data.push_back(AuditEntryJson((*entries)[i]));
  }
  if (entries->size() > static_cast<size_t>(q.limit)) next = (*entries)[q.limit - 1].seq;
  return http::Response::Json(
      200, {{"data", data}, {"nextCursor", next ? json(std::to_string(*next)) : json(nullptr)}});
}

}  // namespace

Result<http::Response> ProfileApi::OwnAudit(http::RequestContext& ctx) {
  auto q = ParseAuditQuery(ctx.request, false);
  if (!q) return tl::unexpected(q.error());
  const auto& caller = ctx.Caller();
  if (!caller.user_id) {
    return Fail(ErrorCode::kInvalidInput, "no_user", "This token has no user (no sub claim)");
  }
  q->subject_or_actor = *caller.user_id;
  return AuditPage(audit_store_, *q);
}

Result<http::Response> ProfileApi::AdminAudit(http::RequestContext& ctx) {
  auto q = ParseAuditQuery(ctx.request, true);
  if (!q) return tl::unexpected(q.error());
  return AuditPage(audit_store_, *q);
}

}  // namespace assistantd::api
