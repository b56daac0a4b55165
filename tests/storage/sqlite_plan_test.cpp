// Listing must never scan the assistants table or sort in a temporary B-tree: every list
// shape reads an index in (created_at desc, id desc) order and stops after `limit` rows.
#include <gtest/gtest.h>

#include "common/logging.hpp"
#include "storage/sqlite/sqlite_assistant_store.hpp"
#include "storage/sqlite/sqlite_database.hpp"
#include "support/server_process.hpp"

namespace assistantd::storage {
namespace {

class SqlitePlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LogFactory logs("off");
    auto db = SqliteDatabase::Open({dir_.path() + "/p.db", 1, 5000}, logs.Make("storage"));
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->Migrate());
    db_ = std::move(*db);
    store_ = std::make_unique<SqliteAssistantStore>(*db_);
  }

  // Owner-scoped lists must SEARCH an index on user_id (a SCAN of the created_at index would
  // read other users' rows too); admin lists may SCAN an index in order, stopping at `limit`.
  void ExpectIndexed(const domain::ListQuery& q, const std::string& what) {
    const bool owner_scoped = q.scope.owner_id.has_value();
    const auto plan = store_->ExplainList(q);
    ASSERT_TRUE(plan) << plan.error().internal;
    std::string text;
    for (const auto& step : *plan) text += step + "\n";
    EXPECT_EQ(text.find("TEMP B-TREE"), std::string::npos) << what << ":\n" << text;
    for (const auto& step : *plan) {
      EXPECT_NE(step.find("USING"), std::string::npos) << what << ": full scan\n" << text;
      if (owner_scoped) {
        EXPECT_EQ(step.rfind("SEARCH assistants", 0), 0u) << what << ": not a search\n" << text;
      }
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<SqliteDatabase> db_;
  std::unique_ptr<SqliteAssistantStore> store_;
};

TEST_F(SqlitePlanTest, EveryListShapeUsesAnIndex) {
  const std::string owner = "6f1d2c6e-0b51-4a1e-9d6a-0a1b2c3d4e5f";
  domain::ListQuery q;
  q.scope.owner_id = owner;
  ExpectIndexed(q, "owner");
  q.after = domain::ListCursor{1767225600000000, owner};
  ExpectIndexed(q, "owner + cursor");
  q.scope.test_only = true;
  ExpectIndexed(q, "test role");
  q.scope.test_only = false;
  q.is_test = true;
  ExpectIndexed(q, "owner + isTest");
  q.is_test.reset();
  q.name_contains = "bot";
  q.sync_status = domain::SyncStatus::kPending;
  q.created_after_us = 1;
  q.created_before_us = 1767225600000000;
  ExpectIndexed(q, "owner + every filter");
  domain::ListQuery admin;
  ExpectIndexed(admin, "admin");
  admin.after = domain::ListCursor{1767225600000000, owner};
  ExpectIndexed(admin, "admin + cursor");
}

}  // namespace
}  // namespace assistantd::storage
