// Reading Vapi's answers: the reconciler's paging through GET /assistant over whatever pages
// Vapi answers (the input: JSON documents separated by NUL bytes, one per page; a page that is
// not JSON stands for a failed call), then a 400 body's reason and rejected fields.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vapi/vapi_client.hpp"
#include "vapi/vapi_list.hpp"
#include "vapi/vapi_rules.hpp"

namespace {

namespace vapi = assistantd::vapi;

// Answers GET /assistant with the input's pages in turn; the other calls are never made.
class Pages final : public vapi::VapiClient {
 public:
  explicit Pages(std::vector<std::string_view> pages) : pages_(std::move(pages)) {}
  vapi::VapiResult CreateAssistant(const std::string&, const nlohmann::json&) override {
    __builtin_trap();
  }
  vapi::VapiResult UpdateAssistant(const std::string&, const std::string&,
                                   const nlohmann::json&) override {
    __builtin_trap();
  }
  vapi::VapiResult DeleteAssistant(const std::string&, const std::string&) override {
    __builtin_trap();
  }
  vapi::VapiResult GetAssistant(const std::string&, const std::string&) override {
    __builtin_trap();
  }
  vapi::VapiResult ListAssistants(const std::string&, const vapi::ListParams& params) override {
    if (params.limit < 1) __builtin_trap();
    if (next_ >= pages_.size()) return nlohmann::json::array();
    auto page = nlohmann::json::parse(pages_[next_++], nullptr, /*allow_exceptions=*/false);
    if (page.is_discarded()) {
      return tl::unexpected(
          vapi::VapiFailure{vapi::FailureKind::kTransient, 500, "down", {}, true});
    }
    return page;
  }

 private:
  std::vector<std::string_view> pages_;
  size_t next_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> pages;
  for (size_t start = 0; start <= input.size();) {
    const auto end = std::min(input.find('\0', start), input.size());
    pages.push_back(input.substr(start, end - start));
    start = end + 1;
  }
  Pages client(pages);
  size_t visited = 0;
  (void)vapi::ForEachRemoteAssistant(client, "key", vapi::ListParams{.limit = 3}, 8,
                                     [&visited](const nlohmann::json&) { ++visited; });
  if (visited > 8 * 1000) __builtin_trap();
  (void)vapi::FailureReason(400, input);
  (void)vapi::RejectedFields(input);
  return 0;
}
