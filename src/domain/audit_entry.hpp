#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace assistantd::domain {

// One entry of the append-only audit log (C12). `seq` runs 1, 2, 3… without gaps; `hash` is
// the SHA-256 of the previous entry's hash and this entry's fields (AuditHash), so editing,
// inserting or removing an entry breaks the chain from that point on.
struct AuditEntry {
  int64_t seq = 0;
  int64_t at_us = 0;
  std::optional<std::string> actor_id;  // the caller's user id; none for service keys
  std::string actor_role;               // user, premium, test, admin, service_role, anon
  std::string action;                   // e.g. assistant.create, session.create
  std::string target_type;              // assistant, user, vapi_key, session
  std::optional<std::string> target_id;
  std::optional<std::string> subject_user_id;  // whose data it concerns: their own trail
  std::string request_id;
  std::string ip;
  nlohmann::json before;  // null when there was nothing before; secrets masked
  nlohmann::json after;   // null when nothing is left after
  std::string prev_hash;  // 64 zeros for the first entry
  std::string hash;
};

inline const std::string kAuditGenesisHash(64, '0');

// The hash an entry must carry, given its fields and prev_hash (seq included).
std::string AuditHash(const AuditEntry& entry);

}  // namespace assistantd::domain
