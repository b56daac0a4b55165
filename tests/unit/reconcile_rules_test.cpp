// The pure parts of reconciliation: remote list paging and drift comparison.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "common/json_util.hpp"
#include "sync/reconciler.hpp"
#include "vapi/vapi_list.hpp"

namespace assistantd::sync {
namespace {

using nlohmann::json;

// A remote list served the way Vapi serves GET /assistant: newest first, createdAt <= bound,
// at most `limit` items.
class ListOnlyVapi final : public vapi::VapiClient {
 public:
  explicit ListOnlyVapi(std::vector<json> all) : all_(std::move(all)) {
    std::stable_sort(all_.begin(), all_.end(), [](const json& a, const json& b) {
      return StringOr(a, "createdAt") > StringOr(b, "createdAt");
    });
  }
  vapi::VapiResult ListAssistants(const std::string&, const vapi::ListParams& p) override {
    ++calls;
    if (fail)
      return tl::unexpected(
          vapi::VapiFailure{vapi::FailureKind::kTransient, 503, "down", {}, false});
    json page = json::array();
    for (const auto& a : all_) {
      if (p.created_at_le && StringOr(a, "createdAt") > *p.created_at_le) continue;
      if (static_cast<int>(page.size()) == p.limit) break;
      page.push_back(a);
    }
    return page;
  }
  vapi::VapiResult CreateAssistant(const std::string&, const json&) override { return Unused(); }
  vapi::VapiResult UpdateAssistant(const std::string&, const std::string&, const json&) override {
    return Unused();
  }
  vapi::VapiResult DeleteAssistant(const std::string&, const std::string&) override {
    return Unused();
  }
  vapi::VapiResult GetAssistant(const std::string&, const std::string&) override {
    return Unused();
  }

  int calls = 0;
  bool fail = false;

 private:
  static vapi::VapiResult Unused() {
    return tl::unexpected(
        vapi::VapiFailure{vapi::FailureKind::kPermanent, 500, "unused", {}, false});
  }
  std::vector<json> all_;
};

json Remote(int i, const std::string& created) {
  return {{"id", "r" + std::to_string(i)}, {"createdAt", created}};
}

std::string Stamp(int second) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-01-01T00:%02d:%02d.000Z", second / 60, second % 60);
  return buf;
}

TEST(RemoteListTest, VisitsEveryAssistantOnceAcrossPagesWithTies) {
  std::vector<json> all;
  for (int i = 0; i < 2500; ++i) all.push_back(Remote(i, Stamp(i / 3)));  // 3 per timestamp
  ListOnlyVapi vapi(all);
  std::vector<std::string> seen;
  vapi::ListParams params;
  params.limit = 1000;
  const auto r = vapi::ForEachRemoteAssistant(vapi, "k", params, 100,
                                              [&](const json& a) { seen.push_back(a["id"]); });
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(*r);
  EXPECT_EQ(seen.size(), 2500u);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());
  EXPECT_EQ(vapi.calls, 3);
}

TEST(RemoteListTest, SaysIncompleteWhenOneTimestampFillsAPageOrPagesRunOut) {
  ListOnlyVapi stuck(std::vector<json>{Remote(1, Stamp(2)), Remote(2, Stamp(1)),
                                       Remote(3, Stamp(1)), Remote(4, Stamp(1)),
                                       Remote(5, Stamp(0))});
  vapi::ListParams params;
  params.limit = 2;
  int visits = 0;
  auto r = vapi::ForEachRemoteAssistant(stuck, "k", params, 100, [&](const json&) { ++visits; });
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(*r);
  EXPECT_EQ(visits, 3);

  std::vector<json> many;
  for (int i = 0; i < 10; ++i) many.push_back(Remote(i, Stamp(i)));
  ListOnlyVapi long_list(many);
  r = vapi::ForEachRemoteAssistant(long_list, "k", params, 2, [](const json&) {});
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(*r);
}

// Found by fuzz_vapi_list: an "id" or "createdAt" that is not a string threw out of the walk
// (and out of the sync worker or reconciler calling it). An entry without a string id is
// skipped; one without a string createdAt is visited, with no timestamp.
TEST(RemoteListTest, EntriesWithIdsOrTimestampsOfAnotherTypeAreSkipped) {
  json odd_id = Remote(2, Stamp(2));
  odd_id["id"] = 77;
  json odd_time = Remote(3, Stamp(3));
  odd_time["createdAt"] = json::array({1});
  ListOnlyVapi vapi(std::vector<json>{Remote(1, Stamp(1)), odd_id, odd_time});
  std::vector<std::string> seen;
  const auto r = vapi::ForEachRemoteAssistant(vapi, "k", {}, 10,
                                              [&](const json& a) { seen.push_back(a["id"]); });
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(*r);
  EXPECT_EQ(seen, (std::vector<std::string>{"r1", "r3"}));
}

TEST(RemoteListTest, AFailedPageFailsTheWalk) {
  ListOnlyVapi down(std::vector<json>{Remote(1, Stamp(1))});
  down.fail = true;
  const auto r = vapi::ForEachRemoteAssistant(down, "k", {}, 10, [](const json&) {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().status, 503);
}

TEST(DriftTest, RemoteDefaultsInsideObjectsAreNotDrift) {
  const json local = {{"provider", "openai"}, {"model", "gpt-4o"}};
  EXPECT_TRUE(
      IsContainedIn(local, {{"provider", "openai"}, {"model", "gpt-4o"}, {"temperature", 0.7}}));
  EXPECT_FALSE(IsContainedIn(local, {{"provider", "openai"}, {"model", "gpt-4o-mini"}}));
  EXPECT_FALSE(IsContainedIn(local, {{"provider", "openai"}}));
  EXPECT_FALSE(IsContainedIn(local, "openai"));
  EXPECT_TRUE(IsContainedIn(json::array({1, 2}), json::array({1, 2})));
  EXPECT_FALSE(IsContainedIn(json::array({1, 2}), json::array({1, 2, 3})));  // lists are exact
  EXPECT_TRUE(IsContainedIn(30, 30.0));
  EXPECT_FALSE(IsContainedIn("a", nullptr));
}

}  // namespace
}  // namespace assistantd::sync
