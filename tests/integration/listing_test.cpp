// C2 over HTTP: keyset pagination, stable order, filters and projection.
#include <gtest/gtest.h>

#include <set>

#include "integration/api_fixture.hpp"

namespace assistantd::testing {
namespace {

using nlohmann::json;

class ListingTest : public ApiTest {
 protected:
  std::vector<json> ListAll(const Actor& actor, const std::string& query, int limit) {
    std::vector<json> out;
    std::string cursor;
    for (int pages = 0; pages < 100; ++pages) {
      std::string target = "/v1/assistants?limit=" + std::to_string(limit) + query;
      if (!cursor.empty()) target += "&cursor=" + cursor;
      const auto r = client().Call("GET", target, actor.token);
      EXPECT_EQ(r.status, 200) << r.body;
      const auto page = r.Json();
      EXPECT_LE(page["data"].size(), static_cast<size_t>(limit));
      for (const auto& a : page["data"]) out.push_back(a);
      if (page["nextCursor"].is_null()) break;
      cursor = page["nextCursor"];
    }
    return out;
  }
};

TEST_F(ListingTest, PagesCoverEveryAssistantOnceInCreatedDescOrder) {
  const auto alice = NewActor();
  for (int i = 0; i < 25; ++i) CreateAssistant(alice, {{"name", "a" + std::to_string(i)}});
  const auto all = ListAll(alice, "", 10);
  ASSERT_EQ(all.size(), 25u);
  std::set<std::string> ids;
  for (size_t i = 0; i < all.size(); ++i) {
    ids.insert(all[i]["id"].get<std::string>());
    // Created one after another, so newest first means names a24 … a0.
    EXPECT_EQ(all[i]["name"], "a" + std::to_string(24 - i));
    if (i > 0) {
      EXPECT_GE(all[i - 1]["createdAt"], all[i]["createdAt"]);
    }
  }
  EXPECT_EQ(ids.size(), 25u);
  EXPECT_EQ(all.front()["name"], "a24");
  EXPECT_EQ(all.back()["name"], "a0");
}

TEST_F(ListingTest, DefaultLimitIs20) {
  const auto alice = NewActor();
  for (int i = 0; i < 21; ++i) CreateAssistant(alice, json::object());
  const auto page = client().Call("GET", "/v1/assistants", alice.token).Json();
  EXPECT_EQ(page["data"].size(), 20u);
  EXPECT_TRUE(page["nextCursor"].is_string());
}

TEST_F(ListingTest, CursorIsStableWhenNewAssistantsArrive) {
  const auto alice = NewActor();
  for (int i = 0; i < 4; ++i) CreateAssistant(alice, {{"name", "old" + std::to_string(i)}});
  const auto first = client().Call("GET", "/v1/assistants?limit=2", alice.token).Json();
  CreateAssistant(alice, {{"name", "new"}});
  const auto second =
      client()
          .Call("GET", "/v1/assistants?limit=2&cursor=" + first["nextCursor"].get<std::string>(),
                alice.token)
          .Json();
  ASSERT_EQ(second["data"].size(), 2u);
  EXPECT_EQ(second["data"][0]["name"], "old1");
  EXPECT_EQ(second["data"][1]["name"], "old0");
}

TEST_F(ListingTest, FiltersByNameSubstringCaseInsensitively) {
  const auto alice = NewActor();
  CreateAssistant(alice, {{"name", "Sales bot"}});
  CreateAssistant(alice, {{"name", "Support bot"}});
  CreateAssistant(alice, {{"name", "100% wild_card"}});
  const auto sales = ListAll(alice, "&q=SALES", 10);
  ASSERT_EQ(sales.size(), 1u);
  EXPECT_EQ(sales[0]["name"], "Sales bot");
  EXPECT_EQ(ListAll(alice, "&q=bot", 10).size(), 2u);
  // LIKE wildcards in q are literal.
  EXPECT_EQ(ListAll(alice, "&q=%25", 10).size(), 1u);
  EXPECT_EQ(ListAll(alice, "&q=_", 10).size(), 1u);
}

TEST_F(ListingTest, FiltersByIsTestAndSyncStatus) {
  const auto alice = NewActor();
  CreateAssistant(alice, {{"name", "real"}});
  CreateAssistant(alice, {{"name", "fake"}, {"metadata", {{"is_test", true}}}});
  const auto tests = ListAll(alice, "&isTest=true", 10);
  ASSERT_EQ(tests.size(), 1u);
  EXPECT_EQ(tests[0]["name"], "fake");
  EXPECT_EQ(ListAll(alice, "&isTest=false", 10).size(), 1u);
  EXPECT_EQ(ListAll(alice, "&syncStatus=pending", 10).size(), 2u);
  EXPECT_EQ(ListAll(alice, "&syncStatus=synced", 10).size(), 0u);
}

TEST_F(ListingTest, FiltersByCreatedRange) {
  const auto alice = NewActor();
  const auto a = CreateAssistant(alice, {{"name", "first"}});
  const auto b = CreateAssistant(alice, {{"name", "second"}});
  const std::string a_at = a["createdAt"];
  const auto after = ListAll(alice, "&createdAfter=" + a_at, 10);
  // createdAt is shown at millisecond precision and stored at microseconds: "after a's
  // millisecond" may include a; b is always included.
  bool has_b = false;
  for (const auto& x : after) has_b = has_b || x["id"] == b["id"];
  EXPECT_TRUE(has_b);
  EXPECT_EQ(ListAll(alice, "&createdBefore=2000-01-01T00:00:00Z", 10).size(), 0u);
  EXPECT_EQ(ListAll(alice, "&createdAfter=2000-01-01T00:00:00Z", 10).size(), 2u);
  EXPECT_EQ(ListAll(alice, "&createdAfter=2999-01-01T00:00:00%2B02:00", 10).size(), 0u);
}

TEST_F(ListingTest, FieldsProjectionKeepsOnlyNamedFields) {
  const auto alice = NewActor();
  CreateAssistant(alice, {{"name", "p"}, {"firstMessage", "hi"}});
  const auto page =
      client().Call("GET", "/v1/assistants?fields=id,name,createdAt", alice.token).Json();
  ASSERT_EQ(page["data"].size(), 1u);
  const auto& a = page["data"][0];
  EXPECT_EQ(a.size(), 3u);
  EXPECT_TRUE(a.contains("id") && a.contains("name") && a.contains("createdAt"));
}

}  // namespace
}  // namespace assistantd::testing
