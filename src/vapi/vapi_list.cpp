#include "vapi/vapi_list.hpp"

#include <unordered_set>

#include "common/json_util.hpp"

namespace assistantd::vapi {

tl::expected<bool, VapiFailure> ForEachRemoteAssistant(
    VapiClient& client, const std::string& api_key, ListParams params, int max_pages,
    const std::function<void(const nlohmann::json&)>& visit) {
  std::unordered_set<std::string> seen;
  for (int page = 0; page < max_pages; ++page) {
    auto list = client.ListAssistants(api_key, params);
    if (!list) return tl::unexpected(list.error());
    if (!list->is_array()) {
      return tl::unexpected(
          VapiFailure{FailureKind::kTransient, 200, "Vapi list answer is not an array", {}, false});
    }
    bool fresh = false;
    std::string oldest;
    for (const auto& a : *list) {
      if (!a.is_object()) continue;
      const std::string id = StringOr(a, "id");
      if (id.empty() || !seen.insert(id).second) continue;
      fresh = true;
      const std::string created = StringOr(a, "createdAt");
      if (oldest.empty() || created < oldest) oldest = created;
      visit(a);
    }
    if (static_cast<int>(list->size()) < params.limit) return true;  // the last page
    if (!fresh || oldest.empty()) return false;  // a full page of one timestamp: stuck
    params.created_at_le = oldest;               // timestamps can tie across pages, hence `seen`
  }
  return false;
}

}  // namespace assistantd::vapi
