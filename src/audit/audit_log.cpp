#include "audit/audit_log.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace assistantd::audit {
namespace {

// Member names that hold secrets: their lower-cased letters end with one of these words
// (password, passwordHash, refresh_token, apiKey, vapi_api_key, server.secret, ...). Counts
// such as maxTokens do not match.
bool LooksSecret(std::string_view name) {
  std::string letters;
  for (const unsigned char c : name) {
    if (std::isalnum(c)) letters.push_back(static_cast<char>(std::tolower(c)));
  }
  static constexpr std::array<std::string_view, 7> kEndings = {
      "password", "passwordhash", "secret", "apikey", "token", "sealed", "authorization"};
  return std::any_of(kEndings.begin(), kEndings.end(),
                     [&](std::string_view w) { return letters.ends_with(w); });
}

}  // namespace

AuditLog::AuditLog(const Clock& clock, MetricsRegistry& metrics)
    : clock_(clock), metrics_(metrics) {
  metrics_.DeclareCounter("assistantd_audit_entries_total", "Audit log entries appended");
}

nlohmann::json AuditLog::Masked(const nlohmann::json& value) {
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : value.items()) {
      out[k] = LooksSecret(k) && !v.is_null() ? nlohmann::json("***") : Masked(v);
    }
    return out;
  }
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : value) out.push_back(Masked(v));
    return out;
  }
  return value;
}

domain::AuditEntry AuditLog::Entry(const Actor& actor, Change change) const {
  domain::AuditEntry e;
  e.at_us = clock_.NowMicros();
  e.actor_id = actor.user_id;
  e.actor_role = actor.role;
  e.action = std::move(change.action);
  e.target_type = std::move(change.target_type);
  e.target_id = std::move(change.target_id);
  e.subject_user_id = std::move(change.subject_user_id);
  e.request_id = actor.request_id;
  e.ip = actor.ip;
  e.before = Masked(change.before);
  e.after = Masked(change.after);
  return e;
}

storage::AssistantAudit AuditLog::ForAssistant(const Actor& actor, std::string action) const {
  return [this, actor, action = std::move(action)](const domain::Assistant* before,
                                                   const domain::Assistant* after) {
    const domain::Assistant& subject = after ? *after : *before;
    return Entry(actor, {action, "assistant", subject.id, subject.user_id,
                         before ? domain::ToWire(*before) : nlohmann::json(nullptr),
                         after ? domain::ToWire(*after) : nlohmann::json(nullptr)});
  };
}

void AuditLog::Appended() { metrics_.Counter("assistantd_audit_entries_total").Inc(); }

Result<VerifyReport> VerifyChain(storage::AuditStore& store, int page_size) {
  VerifyReport report;
  report.head_hash = domain::kAuditGenesisHash;
  int64_t expected_seq = 1;
  int64_t after = 0;
  for (;;) {
    auto page = store.ScanAudit(after, page_size);
    if (!page) return tl::unexpected(page.error());
    if (page->empty()) break;
    for (const auto& e : *page) {
      const auto fail = [&](std::string problem) {
        report.ok = false;
        report.first_bad_seq = e.seq;
        report.problem = std::move(problem);
      };
      if (e.seq != expected_seq) {
        fail(e.seq > expected_seq
                 ? "entries " + std::to_string(expected_seq) + ".." + std::to_string(e.seq - 1) +
                       " are missing (removed)"
                 : "entry " + std::to_string(e.seq) + " is out of sequence (inserted)");
      } else if (e.prev_hash != report.head_hash) {
        fail("entry " + std::to_string(e.seq) +
             " does not link to the entry before it (inserted, or an earlier one removed)");
      } else if (domain::AuditHash(e) != e.hash) {
        fail("entry " + std::to_string(e.seq) +
             " was altered: its content no longer matches its hash");
      }
      if (!report.ok) return report;
      report.head_hash = e.hash;
      ++report.entries;
      ++expected_seq;
      after = e.seq;
    }
  }
  return report;
}

}  // namespace assistantd::audit
