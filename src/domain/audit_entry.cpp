#include "domain/audit_entry.hpp"

#include "common/sha256.hpp"

namespace assistantd::domain {

std::string AuditHash(const AuditEntry& e) {
  const auto opt = [](const std::optional<std::string>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  // An array fixes the order; dump() escapes every string, so no field can forge a separator.
  const nlohmann::json fields = {
      e.seq,        e.at_us,       opt(e.actor_id),  e.actor_role,
      e.action,     e.target_type, opt(e.target_id), opt(e.subject_user_id),
      e.request_id, e.ip,          e.before.dump(),  e.after.dump()};
  return Sha256Hex(e.prev_hash + "\n" + fields.dump());
}

}  // namespace assistantd::domain
