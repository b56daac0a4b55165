// Assistant bodies as a create and then a merge patch would take them: strict JSON parsing,
// body keys, Vapi's schema and our own size rules, the merge, the wire form and projection.
// Input: a create body, optionally a NUL byte and a patch body.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/json_util.hpp"
#include "domain/assistant.hpp"

namespace {

using assistantd::ParseJsonStrict;
namespace domain = assistantd::domain;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto split = input.find('\0');
  auto create = ParseJsonStrict(input.substr(0, split));
  if (!create || !create->is_object()) return 0;
  if (!domain::CheckBodyKeys(*create).empty()) return 0;
  auto fields = domain::FieldsFromCreate(*create);
  const auto violations = domain::ValidateFields(fields);
  Check(violations.size() <= domain::kMaxViolations);
  (void)domain::ViolationDetails(violations);
  if (split == std::string_view::npos) return 0;
  auto patch = ParseJsonStrict(input.substr(split + 1));
  if (!patch || !patch->is_object() || !domain::CheckBodyKeys(*patch).empty()) return 0;
  const auto merged = domain::ApplyMergePatch(fields, *patch);
  Check(merged.is_object());
  // A merge patch with nulls removed is idempotent (RFC 7396).
  Check(domain::ApplyMergePatch(merged, *patch) == merged);
  if (!domain::ValidateFields(merged).empty()) return 0;
  domain::Assistant a;
  a.id = "00000000-0000-4000-8000-000000000000";
  a.fields = merged;
  const auto wire = domain::ToWire(a);
  Check(wire.is_object());
  std::vector<std::string> names;
  for (const auto& [key, value] : patch->items()) names.push_back(key);
  (void)domain::Project(wire, names);
  return 0;
}
