#include "api/sync_api.hpp"

#include <charconv>

#include "api/preconditions.hpp"
#include "api/request_parsing.hpp"
#include "common/time_format.hpp"

namespace assistantd::api {
namespace {

nlohmann::json OptionalTime(const std::optional<int64_t>& us) {
  return us ? nlohmann::json(FormatTimestamp(*us)) : nlohmann::json(nullptr);
}

nlohmann::json OptionalText(const std::optional<std::string>& s) {
  return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
}

nlohmann::json JobJson(const storage::SyncJob& j) {
  return {{"id", j.id},
          {"assistantId", j.assistant_id},
          {"state", j.state},
          {"attempts", j.attempts},
          {"nextAttemptAt", FormatTimestamp(j.next_attempt_at_us)},
          {"lastError", OptionalText(j.last_error)},
          {"createdAt", FormatTimestamp(j.created_at_us)},
          {"updatedAt", FormatTimestamp(j.updated_at_us)}};
}

}  // namespace

void SyncApi::Register(http::Router& router) {
  for (const std::string prefix : {"/v1/assistants", "/functions/v1/assistants"}) {
    router.Add("GET", prefix + "/{id}/sync", http::Access::kAuthenticated,
               [this](auto& ctx) { return Status(ctx); });
    router.Add("POST", prefix + "/{id}/sync", http::Access::kAuthenticated,
               [this](auto& ctx) { return Resync(ctx); });
  }
  router.Add("GET", "/v1/admin/sync", http::Access::kAdmin,
             [this](auto& ctx) { return Queue(ctx); });
  router.Add("POST", "/v1/admin/sync/dead/{jobId}/retry", http::Access::kAdmin,
             [this](auto& ctx) { return RetryDead(ctx); });
  router.Add("POST", "/v1/admin/reconcile", http::Access::kAdmin,
             [this](auto& ctx) { return Reconcile(ctx); });
}

Result<http::Response> SyncApi::Status(http::RequestContext& ctx) {
  auto id = ParseIdParam(ctx.Param("id"), "Assistant");
  if (!id) return tl::unexpected(id.error());
  auto found = assistants_.Get(*id, domain::ScopeFor(ctx.Caller()));
  if (!found) return tl::unexpected(found.error());
  if (!*found) return Fail(ErrorCode::kNotFound, "not_found", "Assistant not found");
  const auto& a = **found;
  auto job = sync_.LatestJob(*id);
  if (!job) return tl::unexpected(job.error());
  auto attempts = sync_.RecentAttempts(*id, 20);
  if (!attempts) return tl::unexpected(attempts.error());
  nlohmann::json recent = nlohmann::json::array();
  for (const auto& at : *attempts) {
    recent.push_back({{"operation", at.operation},
                      {"outcome", at.outcome},
                      {"status", at.status ? nlohmann::json(*at.status) : nlohmann::json(nullptr)},
                      {"error", OptionalText(at.error)},
                      {"startedAt", FormatTimestamp(at.started_at_us)},
                      {"finishedAt", FormatTimestamp(at.finished_at_us)}});
  }
  return http::Response::Json(200, {{"id", a.id},
                                    {"syncStatus", domain::ToString(a.sync_status)},
                                    {"syncError", OptionalText(a.sync_error)},
                                    {"vapiId", OptionalText(a.vapi_id)},
                                    {"lastSyncedAt", OptionalTime(a.last_synced_at_us)},
                                    {"version", a.version},
                                    {"job", *job ? JobJson(**job) : nlohmann::json(nullptr)},
                                    {"attempts", std::move(recent)}});
}

Result<http::Response> SyncApi::Resync(http::RequestContext& ctx) {
  auto id = ParseIdParam(ctx.Param("id"), "Assistant");
  if (!id) return tl::unexpected(id.error());
  auto key = TakeRequestVapiKey(ctx.request, nullptr);
  if (!key) return tl::unexpected(key.error());
  auto precondition = IfMatchPrecondition(ctx.request, require_if_match_);
  if (!precondition) return tl::unexpected(precondition.error());
  const auto job_key = *key ? std::optional<std::string>(box_.Seal(**key)) : std::nullopt;
  auto queued =
      sync_.Resync(*id, domain::ScopeFor(ctx.Caller()), clock_.NowMicros(), job_key, *precondition);
  if (!queued) return tl::unexpected(queued.error());
  if (!*queued) return Fail(ErrorCode::kNotFound, "not_found", "Assistant not found");
  notifier_.Notify();
  return http::Response::Json(202, {{"id", *id}, {"syncStatus", "pending"}});
}

Result<http::Response> SyncApi::Queue(http::RequestContext&) {
  auto overview = sync_.Overview();
  if (!overview) return tl::unexpected(overview.error());
  auto dead = sync_.DeadJobs(50);
  if (!dead) return tl::unexpected(dead.error());
  nlohmann::json dead_json = nlohmann::json::array();
  for (const auto& j : *dead) dead_json.push_back(JobJson(j));
  const int64_t now = clock_.NowMicros();
  return http::Response::Json(
      200, {{"queued", overview->queued},
            {"running", overview->running},
            {"dead", overview->dead},
            {"oldestQueuedAgeSeconds",
             overview->oldest_queued_at_us
                 ? nlohmann::json((now - *overview->oldest_queued_at_us) / 1'000'000)
                 : nlohmann::json(nullptr)},
            {"deadJobs", std::move(dead_json)}});
}

Result<http::Response> SyncApi::RetryDead(http::RequestContext& ctx) {
  const auto text = ctx.Param("jobId");
  int64_t job_id = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), job_id);
  if (ec != std::errc() || ptr != text.data() + text.size() || job_id <= 0) {
    return Fail(ErrorCode::kInvalidInput, "invalid_id", "Job id must be a positive integer");
  }
  auto retried = sync_.RetryDead(job_id, clock_.NowMicros());
  if (!retried) return tl::unexpected(retried.error());
  if (!*retried) {
    return Fail(ErrorCode::kNotFound, "not_found",
                "No dead job with this id (or its assistant already has an open job)");
  }
  notifier_.Notify();
  return http::Response::Json(202, {{"id", job_id}, {"state", "queued"}});
}

Result<http::Response> SyncApi::Reconcile(http::RequestContext& ctx) {
  bool options[2] = {false, false};  // dryRun, repairDrift; an empty body keeps both off
  if (!ctx.request.body.empty()) {
    auto body = ParseObjectBody(ctx.request);
    if (!body) return tl::unexpected(body.error());
    nlohmann::json details = nlohmann::json::array();
    for (const auto& [name, value] : body->items()) {
      const int which = name == "dryRun" ? 0 : name == "repairDrift" ? 1 : -1;
      if (which < 0) {
        details.push_back({{"field", name}, {"message", "is not a reconcile option"}});
      } else if (!value.is_boolean()) {
        details.push_back({{"field", name}, {"message", "must be a boolean"}});
      } else {
        options[which] = value.get<bool>();
      }
    }
    if (!details.empty()) return ValidationFailed(std::move(details));
  }
  auto summary = reconcile_(options[0], options[1]);
  if (!summary) return tl::unexpected(summary.error());
  return http::Response::Json(200, std::move(*summary));
}

}  // namespace assistantd::api
