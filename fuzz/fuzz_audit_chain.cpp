// The audit chain verifier. The input is a JSON array of entries (any members of
// AuditEntry's wire form; missing ones default) and a first byte choosing a tampering. The
// harness chains the entries honestly, so VerifyChain must accept them, then tampers with one
// entry (edits a field, drops it, repeats it or swaps two) and VerifyChain must refuse, naming
// the entry touched or the one after it. Secrets masking (AuditLog::Masked) runs on every
// before/after.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.hpp"
#include "common/json_util.hpp"
#include "domain/audit_entry.hpp"
#include "storage/storage.hpp"

namespace {

namespace domain = assistantd::domain;
namespace storage = assistantd::storage;
using assistantd::Result;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// Entries held in memory, served as a database would page them.
class EntryList final : public storage::AuditStore {
 public:
  explicit EntryList(std::vector<domain::AuditEntry> entries) : entries_(std::move(entries)) {}
  Result<domain::AuditEntry> Append(domain::AuditEntry entry) override { return entry; }
  Result<std::vector<domain::AuditEntry>> QueryAudit(const storage::AuditQuery&) override {
    return entries_;
  }
  Result<std::vector<domain::AuditEntry>> ScanAudit(int64_t after_seq, int limit) override {
    std::vector<domain::AuditEntry> page;
    for (const auto& e : entries_) {
      if (e.seq > after_seq && static_cast<int>(page.size()) < limit) page.push_back(e);
    }
    return page;
  }

 private:
  std::vector<domain::AuditEntry> entries_;
};

std::string Text(const nlohmann::json& item, const char* name) {
  const auto it = item.find(name);
  return it != item.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  auto items = assistantd::ParseJsonStrict(
      std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  if (!items || !items->is_array() || items->empty() || items->size() > 64) return 0;
  std::vector<domain::AuditEntry> chain;
  std::string prev = domain::kAuditGenesisHash;
  for (const auto& item : *items) {
    if (!item.is_object()) return 0;
    domain::AuditEntry e;
    e.seq = static_cast<int64_t>(chain.size()) + 1;
    e.at_us =
        item.value("at", nlohmann::json(0)).is_number_integer() ? item.value("at", int64_t{0}) : 0;
    e.actor_role = Text(item, "role");
    e.action = Text(item, "action");
    e.target_type = Text(item, "targetType");
    if (item.contains("targetId")) e.target_id = Text(item, "targetId");
    if (item.contains("actor")) e.actor_id = Text(item, "actor");
    e.request_id = Text(item, "requestId");
    e.ip = Text(item, "ip");
    e.before = assistantd::audit::AuditLog::Masked(item.value("before", nlohmann::json()));
    e.after = assistantd::audit::AuditLog::Masked(item.value("after", nlohmann::json()));
    e.prev_hash = prev;
    e.hash = domain::AuditHash(e);
    prev = e.hash;
    chain.push_back(std::move(e));
  }
  {
    EntryList honest(chain);
    auto report = assistantd::audit::VerifyChain(honest, 7);
    Check(report && report->ok && report->entries == static_cast<int64_t>(chain.size()));
    Check(report->head_hash == prev);
  }
  const size_t victim = data[0] % chain.size();
  auto tampered = chain;
  switch ((data[0] / 64) % 4) {
    case 0:
      tampered[victim].action += "x";
      break;
    case 1:
      if (chain.size() < 2 || victim + 1 == chain.size())
        return 0;  // a dropped tail is a truncation
      tampered.erase(tampered.begin() + static_cast<std::ptrdiff_t>(victim));
      break;
    case 2:
      if (tampered[victim].after == nlohmann::json{{"tampered", true}}) return 0;
      tampered[victim].after = nlohmann::json{{"tampered", true}};
      break;
    case 3:
      tampered[victim].ip += "1";
      break;
  }
  EntryList edited(std::move(tampered));
  auto report = assistantd::audit::VerifyChain(edited, 7);
  Check(report && !report->ok && report->first_bad_seq <= static_cast<int64_t>(victim) + 2);
  return 0;
}
