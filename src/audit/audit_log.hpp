#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "storage/storage.hpp"

namespace assistantd::audit {

// Who did it and through which request.
struct Actor {
  std::optional<std::string> user_id;
  std::string role;
  std::string request_id;
  std::string ip;
};

// What changed.
struct Change {
  std::string action;       // assistant.create, user.update, session.create, ...
  std::string target_type;  // assistant, user, vapi_key, session
  std::optional<std::string> target_id;
  std::optional<std::string> subject_user_id;  // whose trail it belongs to
  nlohmann::json before = nullptr;
  nlohmann::json after = nullptr;
};

// Makes the entries of the hash-chained audit log, with secrets masked. Every mutation is
// audited inside its own transaction: the caller hands the store the entry (Entry, or
// ForAssistant for assistants) with the change, and calls Appended() once it committed.
class AuditLog {
 public:
  AuditLog(const Clock& clock, MetricsRegistry& metrics);

  // The entry of `change` (time set, secrets masked), for the store to append with it.
  domain::AuditEntry Entry(const Actor& actor, Change change) const;
  // For a change to an assistant that the store audits in its own transaction: the entry
  // `action` makes of the rows before and after (as the API shows them). Call Appended()
  // once the change committed.
  storage::AssistantAudit ForAssistant(const Actor& actor, std::string action) const;
  void Appended();

  // `value` with every member whose name suggests a secret (password, token, secret, key,
  // hash) replaced by "***", at any depth.
  static nlohmann::json Masked(const nlohmann::json& value);

 private:
  const Clock& clock_;
  MetricsRegistry& metrics_;
};

// The result of checking the chain from the first entry to the last.
struct VerifyReport {
  bool ok = true;
  int64_t entries = 0;
  int64_t first_bad_seq = 0;  // when !ok: the first entry that does not fit
  std::string problem;        // altered, inserted or removed, in words
  std::string head_hash;      // the last entry's hash: keep it elsewhere to detect truncation
};

// Walks the log in order, recomputing every hash and checking every link and sequence number:
// an edited entry fails its own hash, a removed one leaves a gap and a broken link, an
// inserted one a duplicate or out-of-order number and a broken link.
Result<VerifyReport> VerifyChain(storage::AuditStore& store, int page_size = 1000);

}  // namespace assistantd::audit
