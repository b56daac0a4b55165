// Listing must never scan the assistants table or sort in a temporary B-tree: every list
// shape reads an index in (created_at desc, id desc) order and stops after `limit` rows.
#include <gtest/gtest.h>

#include "common/logging.hpp"
#include "storage/sqlite/sqlite_assistant_store.hpp"
#include "storage/sqlite/sqlite_database.hpp"
#include "support/list_queries.hpp"
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

  // Every statement a list may run must read an index. In list order (kOrdered, kProbe):
  // no sort, owner-scoped lists SEARCH an index on user_id (a SCAN of the created_at index
  // would read other users' rows too) and every equality filter is part of that search (else
  // a rare status would read all the owner's rows); admin lists may SCAN an index in order,
  // stopping at `limit`. A sparse name search (kByName) is driven by the trigram index and
  // sorts only its candidates.
  void ExpectIndexed(const domain::ListQuery& q, const std::string& what) {
    const bool owner_scoped = q.scope.owner_id.has_value();
    for (const auto shape : SqliteAssistantStore::ShapesFor(q)) {
      const auto plan = store_->ExplainList(q, shape);
      ASSERT_TRUE(plan) << plan.error().internal;
      std::string text;
      for (const auto& step : *plan) text += step + "\n";
      const std::string label = what + " (shape " + std::to_string(static_cast<int>(shape)) + ")";
      if (shape == SqliteAssistantStore::ListShape::kByName) {
        EXPECT_NE(text.find("SCAN assistants_name VIRTUAL TABLE"), std::string::npos)
            << label << text;
        EXPECT_NE(text.find("SEARCH assistants USING INTEGER PRIMARY KEY (rowid=?)"),
                  std::string::npos)
            << label << ":\n"
            << text;
        continue;
      }
      EXPECT_EQ(text.find("TEMP B-TREE"), std::string::npos) << label << ":\n" << text;
      for (const auto& step : *plan) {
        EXPECT_NE(step.find("USING"), std::string::npos) << label << ": full scan\n" << text;
        if (owner_scoped) {
          EXPECT_EQ(step.rfind("SEARCH assistants", 0), 0u) << label << ": not a search\n" << text;
        }
        if (q.sync_status) {
          EXPECT_NE(step.find("sync_status=?"), std::string::npos) << label << "\n" << text;
        }
        if (q.is_test || q.scope.test_only) {
          EXPECT_NE(step.find("is_test=?"), std::string::npos) << label << "\n" << text;
        }
      }
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<SqliteDatabase> db_;
  std::unique_ptr<SqliteAssistantStore> store_;
};

TEST_F(SqlitePlanTest, EveryListShapeUsesAnIndex) {
  const std::string owner = "6f1d2c6e-0b51-4a1e-9d6a-0a1b2c3d4e5f";
  for (const auto& [what, q] : testing::DocumentedListQueries(owner, 1767225600000000)) {
    ExpectIndexed(q, what);
  }
}

}  // namespace
}  // namespace assistantd::storage
