#include "api/assistants_api.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "api/audit_actor.hpp"
#include "api/preconditions.hpp"
#include "api/request_parsing.hpp"
#include "common/json_util.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"
#include "domain/assistant_fields.hpp"
#include "http/conditional.hpp"

namespace assistantd::api {
namespace {

using domain::Assistant;
using domain::Role;

constexpr std::string_view kOwnerIdField = "ownerId";
constexpr size_t kMaxPageBytes = 1024 * 1024;

tl::unexpected<Error> NotFound() {
  return Fail(ErrorCode::kNotFound, "not_found", "Assistant not found");
}

// `fields=a,b,c`: every name must be an assistant field (client or server-owned).
Result<std::vector<std::string>> ParseProjection(std::string_view value) {
  std::vector<std::string> out;
  nlohmann::json details = nlohmann::json::array();
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(',', start);
    if (end == std::string_view::npos) end = value.size();
    const std::string name(value.substr(start, end - start));
    if (domain::FindAssistantField(name) || domain::IsServerOwnedField(name)) {
      out.push_back(name);
    } else {
      details.push_back({{"field", "fields"}, {"message", "unknown field \"" + name + "\""}});
    }
    start = end + 1;
  }
  if (!details.empty()) {
    return Fail(ErrorCode::kInvalidInput, "invalid_query", "The query string is invalid",
                std::move(details));
  }
  return out;
}

// One assistant's representation with its strong ETag (of exactly these bytes: a projection
// is a representation of its own, so its tag differs from the full one's).
http::Response AssistantResponse(int status, const Assistant& a,
                                 const std::optional<std::vector<std::string>>& projection) {
  const auto wire = domain::ToWire(a);
  auto res = http::Response::Json(status, projection ? domain::Project(wire, *projection) : wire);
  res.SetHeader("ETag", http::StrongEtag(res.body));
  return res;
}

// Client fields for a create body, or the violations that stop it.
Result<nlohmann::json> FieldsForCreate(const nlohmann::json& body, Role role) {
  nlohmann::json fields = domain::FieldsFromCreate(body);
  for (auto it = fields.begin(); it != fields.end();) {
    it = domain::FindAssistantField(it.key()) ? std::next(it) : fields.erase(it);
  }
  if (role == Role::kTest) {
    // The test role only ever owns test assistants.
    if (!fields.contains("metadata")) fields["metadata"] = nlohmann::json::object();
    if (fields["metadata"].is_object()) fields["metadata"]["is_test"] = true;
  }
  const auto violations = domain::ValidateFields(fields);
  if (!violations.empty()) return ValidationFailed(domain::ViolationDetails(violations));
  return fields;
}

}  // namespace

Result<std::optional<std::string>> AssistantsApi::SealedRequestKey(const http::Request& request,
                                                                   nlohmann::json* body) const {
  auto key = TakeRequestVapiKey(request, body);
  if (!key) return tl::unexpected(key.error());
  if (!*key) return std::optional<std::string>();
  return std::optional<std::string>(box_.Seal(**key));
}

void AssistantsApi::Register(http::Router& router) {
  for (const std::string prefix : {"/v1/assistants", "/functions/v1/assistants"}) {
    const auto access = http::Access::kAuthenticated;
    router.Add("GET", prefix, access, [this](auto& ctx) { return List(ctx); });
    router.AddAsync("POST", prefix, access,
                    [this](auto& ctx, http::Reply reply) { Create(ctx, std::move(reply)); });
    router.AddNonBlocking("GET", prefix + "/{id}", access,
                          [this](auto& ctx, http::Reply reply) { Get(ctx, std::move(reply)); });
    router.AddAsync("PATCH", prefix + "/{id}", access,
                    [this](auto& ctx, http::Reply reply) { Patch(ctx, std::move(reply)); });
    router.AddAsync("DELETE", prefix + "/{id}", access,
                    [this](auto& ctx, http::Reply reply) { Delete(ctx, std::move(reply)); });
  }
}

template <class T>
storage::Completion<T> AssistantsApi::Then(http::Reply reply,
                                           std::function<void(T, http::Reply)> respond) {
  // Runs on the store's thread that completed the write: the answer is built right there,
  // which costs less than a hand-over to another thread; a request that waits for its sync
  // outcome only registers its wait here.
  return [reply = std::move(reply), respond = std::move(respond)](Result<T> written) {
    if (!written) return reply(tl::unexpected(written.error()));
    try {
      respond(std::move(*written), reply);
    } catch (const std::exception& e) {
      reply(Internal(std::string("completing a write threw: ") + e.what()));
    }
  };
}

void AssistantsApi::AnswerAfterSync(const http::RequestContext& ctx, const std::string& id,
                                    http::Reply reply, AfterSync answer) {
  auto run = [reply = std::move(reply), answer = std::move(answer)](
                 std::optional<int> waited, const std::optional<storage::SyncJob>& job) {
    Result<http::Response> response;
    try {
      response = answer(waited, job);
    } catch (const std::exception& e) {
      response = Internal(std::string("answering a write threw: ") + e.what());
    }
    reply(std::move(response));
  };
  const auto wait = PreferredWaitSeconds(ctx.request);
  if (!wait) return run(std::nullopt, std::nullopt);
  const auto& caller = ctx.Caller();
  const std::string who =
      caller.user_id ? *caller.user_id : "role:" + std::string(domain::ToString(caller.role));
  const bool waiting =
      waiter_.Wait(who, id, std::chrono::steady_clock::now() + std::chrono::seconds(*wait),
                   [this, run, seconds = *wait](std::optional<storage::SyncJob> job) {
                     // The answer reads the store: on the handler pool, not the waiter's thread.
                     executor_([run, seconds, job = std::move(job)] { run(seconds, job); });
                   });
  if (!waiting) run(std::nullopt, std::nullopt);
}

void AssistantsApi::Create(http::RequestContext& ctx, http::Reply reply) {
  auto prepared = PrepareCreate(ctx);
  if (!prepared) return reply(tl::unexpected(prepared.error()));
  const auto& caller = ctx.Caller();
  store_.SubmitCreate(
      std::move(prepared->assistant), std::move(prepared->job_key),
      limits::LimitsFor(limits_, caller.role).max_assistants,
      audit_.ForAssistant(ActorFor(ctx), "assistant.create"),
      Then<Assistant>(std::move(reply), [this, &ctx](Assistant created, http::Reply done) {
        notifier_.Notify();
        audit_.Appended();
        AnswerAfterSync(ctx, created.id, std::move(done),
                        [this, &ctx, created](std::optional<int> waited,
                                              const std::optional<storage::SyncJob>&) {
                          auto res = WriteResponse(ctx, 201, created, waited);
                          if (!res) return res;
                          std::string base = ctx.request.path;
                          if (base.ends_with('/')) base.pop_back();
                          res->SetHeader("Location", base + "/" + created.id);
                          return res;
                        });
      }));
}

Result<AssistantsApi::NewAssistant> AssistantsApi::PrepareCreate(http::RequestContext& ctx) {
  if (auto q = ParseQueryParams(ctx.request, {}); !q) return tl::unexpected(q.error());
  auto body = ParseObjectBody(ctx.request);
  if (!body) return tl::unexpected(body.error());
  auto job_key = SealedRequestKey(ctx.request, &*body);
  if (!job_key) return tl::unexpected(job_key.error());
  const auto& caller = ctx.Caller();

  // Unknown/read-only keys and invalid values are reported together.
  const auto key_violations = domain::CheckBodyKeys(*body, {kOwnerIdField});
  auto fields = FieldsForCreate(*body, caller.role);
  if (!key_violations.empty()) {
    nlohmann::json details = domain::ViolationDetails(key_violations);
    if (!fields) {
      for (const auto& d : fields.error().details) details.push_back(d);
    }
    return ValidationFailed(std::move(details));
  }
  if (!fields) return tl::unexpected(fields.error());

  std::optional<std::string> owner = caller.user_id;
  if (const auto it = body->find(kOwnerIdField); it != body->end()) {
    if (!domain::IsAdmin(caller)) {
      return Fail(ErrorCode::kForbidden, "forbidden_field",
                  "Only admin and service_role may create assistants for another user",
                  nlohmann::json::array(
                      {{{"field", kOwnerIdField}, {"message", "may only be set by admins"}}}));
    }
    const auto id =
        it->is_string() ? NormalizeUuid(it->get_ref<const std::string&>()) : std::nullopt;
    if (!id) {
      return ValidationFailed(nlohmann::json::array(
          {{{"field", kOwnerIdField}, {"message", "must be a user id (UUID)"}}}));
    }
    owner = *id;
    if (auto r = users_.EnsureUser(*owner, Role::kUser, std::nullopt); !r) {
      return tl::unexpected(r.error());
    }
  }
  if (!owner) {
    return ValidationFailed(nlohmann::json::array(
        {{{"field", kOwnerIdField}, {"message", "is required for a token without sub"}}}));
  }

  NewAssistant out;
  Assistant& a = out.assistant;
  a.id = NewTimeOrderedUuid();
  a.user_id = *owner;
  a.fields = std::move(*fields);
  a.created_at_us = a.updated_at_us = clock_.NowMicros();
  out.job_key = std::move(*job_key);
  return out;
}

Result<http::Response> AssistantsApi::WriteResponse(http::RequestContext& ctx, int status,
                                                    const Assistant& written,
                                                    std::optional<int> waited) {
  if (!waited) return AssistantResponse(status, written, std::nullopt);
  auto now = store_.Get(written.id, domain::ScopeFor(ctx.Caller()));
  if (!now) return tl::unexpected(now.error());
  // Deleted meanwhile by another request: the state this write produced is all there is.
  auto res = AssistantResponse(status, *now ? **now : written, std::nullopt);
  res.SetHeader("Preference-Applied", "wait=" + std::to_string(*waited));
  return res;
}

Result<http::Response> AssistantsApi::List(http::RequestContext& ctx) {
  auto params = ParseQueryParams(ctx.request, {"cursor", "limit", "q", "syncStatus", "isTest",
                                               "createdAfter", "createdBefore", "fields"});
  if (!params) return tl::unexpected(params.error());
  domain::ListQuery query;
  query.scope = domain::ScopeFor(ctx.Caller());
  std::optional<std::vector<std::string>> projection;
  nlohmann::json details = nlohmann::json::array();
  const auto bad = [&](const std::string& field, const std::string& message) {
    details.push_back({{"field", field}, {"message", message}});
  };
  for (const auto& [name, value] : *params) {
    if (name == "limit") {
      auto limit = ParseLimit(value, domain::kMaxListLimit);
      if (!limit) return tl::unexpected(limit.error());
      query.limit = *limit;
    } else if (name == "cursor") {
      auto cursor = ParseCursor(value);
      if (!cursor) return tl::unexpected(cursor.error());
      query.after = *cursor;
    } else if (name == "q") {
      if (value.empty() || value.size() > 200) {
        bad(name, "must be 1 to 200 bytes");
      } else if (!IsPrintableUtf8(value)) {
        // A NUL would end the pattern early in the database and match everything.
        bad(name, "must be UTF-8 text without control characters");
      } else {
        query.name_contains = value;
      }
    } else if (name == "syncStatus") {
      query.sync_status = domain::ParseSyncStatus(value);
      if (!query.sync_status) bad(name, "must be one of pending, synced, failed, deleting");
    } else if (name == "isTest") {
      if (value == "true" || value == "false") {
        query.is_test = value == "true";
      } else {
        bad(name, "must be true or false");
      }
    } else if (name == "createdAfter" || name == "createdBefore") {
      const auto ts = ParseTimestamp(value);
      if (!ts) {
        bad(name, "must be an RFC 3339 date-time");
      } else if (name == "createdAfter") {
        query.created_after_us = *ts;
      } else {
        query.created_before_us = *ts;
      }
    } else if (name == "fields") {
      auto p = ParseProjection(value);
      if (!p) return tl::unexpected(p.error());
      projection = std::move(*p);
    }
  }
  if (!details.empty()) {
    return Fail(ErrorCode::kInvalidInput, "invalid_query", "The query string is invalid",
                std::move(details));
  }
  auto page = store_.List(query);
  if (!page) return tl::unexpected(page.error());
  // A page stops early once it holds kMaxPageBytes (it always holds one item), its cursor
  // then pointing after its last item: what one request makes the server hold is bounded.
  std::vector<std::string> data;
  data.reserve(page->items.size());
  size_t bytes = 0;
  std::optional<domain::ListCursor> next = page->next;
  for (size_t i = 0; i < page->items.size(); ++i) {
    const auto& a = page->items[i];
    const auto wire = domain::ToWire(a);
    data.push_back((projection ? domain::Project(wire, *projection) : wire)
                       .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    bytes += data.back().size();
    if (bytes >= kMaxPageBytes && i + 1 < page->items.size()) {
      next = domain::ListCursor{a.created_at_us, a.id};
      break;
    }
  }
  return PageResponse(data, next);
}

void AssistantsApi::Get(http::RequestContext& ctx, http::Reply reply) {
  auto id = ParseIdParam(ctx.Param("id"), "Assistant");
  if (!id) return reply(tl::unexpected(id.error()));
  auto params = ParseQueryParams(ctx.request, {"fields"});
  if (!params) return reply(tl::unexpected(params.error()));
  std::optional<std::vector<std::string>> projection;
  if (!params->empty()) {
    auto p = ParseProjection(params->front().second);
    if (!p) return reply(tl::unexpected(p.error()));
    projection = std::move(*p);
  }
  auto scope = domain::ScopeFor(ctx.Caller());
  // On an I/O thread the store is read on the handler pool.
  const bool may_block = !ctx.on_io_thread;
  if (!cache_) {
    if (may_block) return reply(ReadOne(*id, scope, projection));
    return executor_([this, id = std::move(*id), scope = std::move(scope),
                      projection = std::move(projection),
                      reply = std::move(reply)] { reply(ReadOne(id, scope, projection)); });
  }
  // The cache may answer once every change committed before now has reached it; until the
  // feed says so (PostgreSQL: a round trip shared by every read waiting meanwhile), no
  // thread is held. A read the feed cannot vouch for goes to the store.
  const auto caller_thread = std::this_thread::get_id();
  feed_->AwaitCurrent([this, id = std::move(*id), scope = std::move(scope),
                       projection = std::move(projection), reply = std::move(reply), caller_thread,
                       may_block](bool current) mutable {
    if (current) {
      if (const auto entry = cache_->Find(id)) {
        const Assistant& row = entry->row;
        if (row.sync_status == domain::SyncStatus::kDeleting ||
            !domain::InScope(scope, row.user_id, row.IsTest())) {
          return reply(NotFound());
        }
        if (projection) return reply(AssistantResponse(200, row, projection));
        http::Response res;
        res.headers.emplace_back("Content-Type", "application/json");
        res.headers.emplace_back("ETag", entry->etag);
        res.body = entry->body;
        return reply(std::move(res));
      }
    }
    auto read = [this, id = std::move(id), scope = std::move(scope),
                 projection = std::move(projection),
                 reply = std::move(reply)] { reply(ReadOne(id, scope, projection)); };
    // Answered at once on the request's own thread, or later on the feed's: the store is
    // read on the handler pool.
    if (may_block && std::this_thread::get_id() == caller_thread) return read();
    executor_(std::move(read));
  });
}

Result<http::Response> AssistantsApi::ReadOne(
    const std::string& id, const domain::AccessScope& scope,
    const std::optional<std::vector<std::string>>& projection) {
  // The ticket comes first: a change committed after it (whose notice may reach the cache
  // before or after this read) keeps what this read saw out of the cache.
  const auto ticket = cache_ ? cache_->Reserve(id) : AssistantCache::Ticket{};
  auto found = store_.Get(id, scope);
  if (!found) return tl::unexpected(found.error());
  if (!*found) return NotFound();
  auto full = AssistantResponse(200, **found, std::nullopt);
  if (cache_) {
    const auto etag = full.Header("ETag");
    cache_->Fill(ticket, std::make_shared<const CachedAssistant>(
                             CachedAssistant{**found, full.body, std::string(etag.value_or(""))}));
  }
  if (projection) return AssistantResponse(200, **found, projection);
  return full;
}

void AssistantsApi::Patch(http::RequestContext& ctx, http::Reply reply) {
  auto id = ParseIdParam(ctx.Param("id"), "Assistant");
  if (!id) return reply(tl::unexpected(id.error()));
  if (auto q = ParseQueryParams(ctx.request, {}); !q) return reply(tl::unexpected(q.error()));
  auto body = ParseObjectBody(ctx.request);
  if (!body) return reply(tl::unexpected(body.error()));
  auto job_key = SealedRequestKey(ctx.request, &*body);
  if (!job_key) return reply(tl::unexpected(job_key.error()));
  if (const auto v = domain::CheckBodyKeys(*body); !v.empty()) {
    return reply(ValidationFailed(domain::ViolationDetails(v)));
  }
  auto precondition = IfMatchPrecondition(ctx.request, require_if_match_);
  if (!precondition) return reply(tl::unexpected(precondition.error()));
  // The mutation runs later, inside the write's transaction: it owns what it uses.
  const Role role = ctx.Caller().role;
  const int64_t now = clock_.NowMicros();
  auto mutate = [role, now, patch = std::move(*body), precondition = std::move(*precondition)](
                    const Assistant& current) -> Result<Assistant> {
    if (precondition) {
      if (auto ok = precondition(current); !ok) return tl::unexpected(ok.error());
    }
    Assistant next = current;
    next.fields = domain::ApplyMergePatch(current.fields, patch);
    if (role == Role::kTest && !next.IsTest()) {
      return Fail(ErrorCode::kForbidden, "test_flag_required",
                  "The test role may not clear metadata.is_test",
                  nlohmann::json::array({{{"field", "metadata.is_test"},
                                          {"message", "must stay true for the test role"}}}));
    }
    const auto violations = domain::ValidateFields(next.fields);
    if (!violations.empty()) return ValidationFailed(domain::ViolationDetails(violations));
    next.sync_status = domain::SyncStatus::kPending;
    next.sync_error.reset();
    next.updated_at_us = now;
    return next;
  };
  store_.SubmitUpdate(
      *id, domain::ScopeFor(ctx.Caller()), std::move(mutate), std::move(*job_key),
      audit_.ForAssistant(ActorFor(ctx), "assistant.update"),
      Then<std::optional<Assistant>>(
          std::move(reply), [this, &ctx](std::optional<Assistant> updated, http::Reply done) {
            if (!updated) return done(NotFound());
            notifier_.Notify();
            audit_.Appended();
            const std::string updated_id = updated->id;  // before the move
            AnswerAfterSync(ctx, updated_id, std::move(done),
                            [this, &ctx, updated = std::move(*updated)](
                                std::optional<int> waited, const std::optional<storage::SyncJob>&) {
                              return WriteResponse(ctx, 200, updated, waited);
                            });
          }));
}

void AssistantsApi::Delete(http::RequestContext& ctx, http::Reply reply) {
  auto id = ParseIdParam(ctx.Param("id"), "Assistant");
  if (!id) return reply(tl::unexpected(id.error()));
  if (auto q = ParseQueryParams(ctx.request, {}); !q) return reply(tl::unexpected(q.error()));
  auto job_key = SealedRequestKey(ctx.request, nullptr);
  if (!job_key) return reply(tl::unexpected(job_key.error()));
  auto precondition = IfMatchPrecondition(ctx.request, require_if_match_);
  if (!precondition) return reply(tl::unexpected(precondition.error()));
  store_.SubmitDelete(
      *id, domain::ScopeFor(ctx.Caller()), clock_.NowMicros(), std::move(*job_key),
      audit_.ForAssistant(ActorFor(ctx), "assistant.delete"), std::move(*precondition),
      Then<bool>(std::move(reply), [this, &ctx, id = *id](bool deleted, http::Reply done) {
        if (!deleted) return done(NotFound());
        notifier_.Notify();
        audit_.Appended();
        AnswerAfterSync(
            ctx, id, std::move(done),
            [id](std::optional<int> waited, const std::optional<storage::SyncJob>& job) {
              return DeleteResponse(id, waited, job);
            });
      }));
}

Result<http::Response> AssistantsApi::DeleteResponse(const std::string& id,
                                                     std::optional<int> waited,
                                                     const std::optional<storage::SyncJob>& job) {
  if (!waited) return http::Response::Empty(204);
  // The outcome of the remote deletion: deleted, failed (dead letter) or still deleting.
  std::string status = "deleting";
  if (job && job->state == "done") status = "deleted";
  if (job && job->state == "dead") status = "failed";
  auto res = http::Response::Json(200, {{"id", id},
                                        {"syncStatus", status},
                                        {"syncError", job && job->last_error && status != "deleted"
                                                          ? nlohmann::json(*job->last_error)
                                                          : nlohmann::json(nullptr)}});
  res.SetHeader("Preference-Applied", "wait=" + std::to_string(*waited));
  return res;
}

}  // namespace assistantd::api
