// The storage contract: every backend must pass this suite unchanged. Backends are listed in
// INSTANTIATE_TEST_SUITE_P below.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/logging.hpp"
#include "common/uuid.hpp"
#include "storage/sqlite/sqlite_assistant_store.hpp"
#include "storage/sqlite/sqlite_database.hpp"
#include "storage/sqlite/sqlite_user_store.hpp"
#include "support/server_process.hpp"

namespace assistantd::storage {
namespace {

using domain::AccessScope;
using domain::Assistant;
using nlohmann::json;

struct Backend {
  std::unique_ptr<testing::TempDir> dir;
  std::unique_ptr<Database> db;
  std::unique_ptr<AssistantStore> assistants;
  std::unique_ptr<UserStore> users;
};

Backend MakeSqlite() {
  Backend b;
  b.dir = std::make_unique<testing::TempDir>();
  LogFactory logs("off");
  auto db = SqliteDatabase::Open({b.dir->path() + "/t.db", 4, 5000}, logs.Make("storage"));
  if (!db) throw std::runtime_error(db.error().internal);
  if (!(*db)->Migrate()) throw std::runtime_error("migrate failed");
  b.assistants = std::make_unique<SqliteAssistantStore>(**db);
  b.users = std::make_unique<SqliteUserStore>(**db);
  b.db = std::move(*db);
  return b;
}

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { backend_ = MakeSqlite(); }

  std::string NewUser(domain::Role role = domain::Role::kUser) {
    const std::string id = NewUuid();
    EXPECT_TRUE(backend_.users->EnsureUser({id, "u@example.com", role, now_, now_}));
    return id;
  }

  Assistant Make(const std::string& owner, json fields = json::object()) {
    Assistant a;
    a.id = NewUuid();
    a.user_id = owner;
    a.fields = std::move(fields);
    a.created_at_us = a.updated_at_us = ++now_;
    auto r = backend_.assistants->Create(a, std::nullopt);
    EXPECT_TRUE(r) << (r ? "" : r.error().internal);
    return a;
  }

  AssistantStore& store() { return *backend_.assistants; }
  // An update without a per-request Vapi key.
  Result<std::optional<Assistant>> Upd(const std::string& id, const AccessScope& scope,
                                       const AssistantStore::Mutation& mutate) {
    return store().Update(id, scope, mutate, std::nullopt);
  }

  Backend backend_;
  int64_t now_ = 1767225600000000;
};

TEST_P(StoreContractTest, RoundTripsEveryStorageType) {
  const auto owner = NewUser();
  const json fields = {{"name", "n"},
                       {"firstMessageInterruptionsEnabled", true},
                       {"maxDurationSeconds", 600},
                       {"silenceTimeoutSeconds", 12.5},
                       {"model", {{"provider", "openai"}, {"model", "gpt-4o"}}},
                       {"endCallPhrases", {"bye", "ciao"}},
                       {"metadata", {{"is_test", true}}},
                       {"endCallAfterSilence", false}};
  const auto a = Make(owner, fields);
  const auto got = store().Get(a.id, {});
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->fields, fields);
  EXPECT_TRUE((*got)->fields["maxDurationSeconds"].is_number_integer());
  EXPECT_EQ((*got)->user_id, owner);
  EXPECT_EQ((*got)->version, 1);
  EXPECT_EQ((*got)->created_at_us, a.created_at_us);
  EXPECT_TRUE((*got)->IsTest());
}

TEST_P(StoreContractTest, ScopeHidesOtherOwnersRows) {
  const auto alice = NewUser();
  const auto bob = NewUser();
  const auto a = Make(alice);
  EXPECT_FALSE(*store().Get(a.id, AccessScope{bob, false}));
  EXPECT_TRUE(*store().Get(a.id, AccessScope{alice, false}));
  auto upd = Upd(a.id, AccessScope{bob, false}, [](const Assistant& c) {
    return Result<Assistant>(c);
  });
  ASSERT_TRUE(upd);
  EXPECT_FALSE(*upd);
  EXPECT_FALSE(*store().Delete(a.id, AccessScope{bob, false}, now_, std::nullopt));
  EXPECT_TRUE(*store().Delete(a.id, AccessScope{alice, false}, now_, std::nullopt));
}

TEST_P(StoreContractTest, TestScopeSeesOnlyTestRows) {
  const auto alice = NewUser();
  const auto real = Make(alice);
  const auto flagged = Make(alice, {{"metadata", {{"is_test", true}}}});
  EXPECT_FALSE(*store().Get(real.id, AccessScope{alice, true}));
  EXPECT_TRUE(*store().Get(flagged.id, AccessScope{alice, true}));
  domain::ListQuery q;
  q.scope = AccessScope{alice, true};
  EXPECT_EQ(store().List(q)->items.size(), 1u);
}

TEST_P(StoreContractTest, ListPagesInCreatedDescOrder) {
  const auto alice = NewUser();
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(Make(alice, {{"name", std::to_string(i)}}).id);
  domain::ListQuery q;
  q.scope = AccessScope{alice, false};
  q.limit = 3;
  std::vector<std::string> seen;
  for (;;) {
    auto page = store().List(q);
    ASSERT_TRUE(page);
    for (const auto& a : page->items) seen.push_back(a.id);
    if (!page->next) break;
    q.after = page->next;
  }
  std::reverse(ids.begin(), ids.end());
  EXPECT_EQ(seen, ids);
}

TEST_P(StoreContractTest, TiesInCreatedAtAreOrderedById) {
  const auto alice = NewUser();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    Assistant a;
    a.id = NewUuid();
    a.user_id = alice;
    a.created_at_us = a.updated_at_us = now_;
    ASSERT_TRUE(store().Create(a, std::nullopt));
    ids.push_back(a.id);
  }
  std::sort(ids.rbegin(), ids.rend());
  domain::ListQuery q;
  q.scope = AccessScope{alice, false};
  q.limit = 2;
  std::vector<std::string> seen;
  for (;;) {
    auto page = store().List(q);
    for (const auto& a : page->items) seen.push_back(a.id);
    if (!page->next) break;
    q.after = page->next;
  }
  EXPECT_EQ(seen, ids);
}

TEST_P(StoreContractTest, ListFilters) {
  const auto alice = NewUser();
  Make(alice, {{"name", "Alpha"}});
  const auto beta = Make(alice, {{"name", "Beta"}, {"metadata", {{"is_test", true}}}});
  domain::ListQuery q;
  q.scope = AccessScope{alice, false};
  q.name_contains = "alp";
  EXPECT_EQ(store().List(q)->items.size(), 1u);
  q.name_contains.reset();
  q.is_test = true;
  ASSERT_EQ(store().List(q)->items.size(), 1u);
  EXPECT_EQ(store().List(q)->items[0].id, beta.id);
  q.is_test.reset();
  q.created_after_us = beta.created_at_us - 1;
  EXPECT_EQ(store().List(q)->items.size(), 1u);
  q.created_after_us.reset();
  q.created_before_us = beta.created_at_us;
  EXPECT_EQ(store().List(q)->items.size(), 1u);
  q.created_before_us.reset();
  q.sync_status = domain::SyncStatus::kSynced;
  EXPECT_EQ(store().List(q)->items.size(), 0u);
}

TEST_P(StoreContractTest, UpdateBumpsVersionAndKeepsIdentity) {
  const auto alice = NewUser();
  const auto a = Make(alice, {{"name", "old"}});
  auto r = Upd(a.id, {}, [](const Assistant& c) {
    Assistant n = c;
    n.fields["name"] = "new";
    n.user_id = "someone-else";  // ignored: identity is the store's
    n.updated_at_us = c.updated_at_us + 5;
    return Result<Assistant>(n);
  });
  ASSERT_TRUE(r && *r);
  EXPECT_EQ((*r)->version, 2);
  const auto got = **store().Get(a.id, {});
  EXPECT_EQ(got.fields["name"], "new");
  EXPECT_EQ(got.user_id, alice);
  EXPECT_EQ(got.version, 2);
}

TEST_P(StoreContractTest, FailedMutationChangesNothing) {
  const auto alice = NewUser();
  const auto a = Make(alice, {{"name", "keep"}});
  auto r = Upd(a.id, {}, [](const Assistant&) -> Result<Assistant> {
    return Fail(ErrorCode::kInvalidInput, "validation_failed", "no");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, "validation_failed");
  const auto got = **store().Get(a.id, {});
  EXPECT_EQ(got.fields["name"], "keep");
  EXPECT_EQ(got.version, 1);
}

TEST_P(StoreContractTest, ConcurrentUpdatesAreSerialised) {
  const auto alice = NewUser();
  const auto a = Make(alice, {{"maxDurationSeconds", 0}});
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        auto r = Upd(a.id, {}, [](const Assistant& c) {
          Assistant n = c;
          n.fields["maxDurationSeconds"] = c.fields["maxDurationSeconds"].get<int>() + 1;
          return Result<Assistant>(n);
        });
        if (!r) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  const auto got = **store().Get(a.id, {});
  EXPECT_EQ(got.fields["maxDurationSeconds"], kThreads * kEach);
  EXPECT_EQ(got.version, 1 + kThreads * kEach);
}

TEST_P(StoreContractTest, CreateForMissingOwnerIsAConflict) {
  Assistant a;
  a.id = NewUuid();
  a.user_id = NewUuid();
  const auto r = store().Create(a, std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_EQ(r.error().reason, "owner_not_found");
}

TEST_P(StoreContractTest, DeletingAUserCascades) {
  const auto alice = NewUser();
  const auto a = Make(alice);
  EXPECT_TRUE(*backend_.users->DeleteUser(alice, now_));
  EXPECT_FALSE(*store().Get(a.id, {}));
  EXPECT_FALSE(*backend_.users->DeleteUser(alice, now_));
  EXPECT_FALSE(*backend_.users->GetUser(alice));
}

TEST_P(StoreContractTest, EnsureUserNeverChangesAnExistingRow) {
  const auto id = NewUser(domain::Role::kPremium);
  ASSERT_TRUE(backend_.users->EnsureUser({id, "other@example.com", domain::Role::kAdmin, 1, 1}));
  const auto u = **backend_.users->GetUser(id);
  EXPECT_EQ(u.role, domain::Role::kPremium);
  EXPECT_EQ(u.email, "u@example.com");
}

TEST_P(StoreContractTest, UsersPage) {
  for (int i = 0; i < 5; ++i) {
    ++now_;
    NewUser();
  }
  auto first = backend_.users->ListUsers(std::nullopt, 3);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->items.size(), 3u);
  ASSERT_TRUE(first->next);
  auto second = backend_.users->ListUsers(first->next, 3);
  EXPECT_EQ(second->items.size(), 2u);
  EXPECT_FALSE(second->next);
}

TEST_P(StoreContractTest, MigrationsAreIdempotentAndReadyAfter) {
  EXPECT_EQ(*backend_.db->Migrate(), 0);
  EXPECT_TRUE(backend_.db->CheckReady());
  EXPECT_GE(backend_.db->LatestSchemaVersion(), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, ::testing::Values("sqlite"));

}  // namespace
}  // namespace assistantd::storage
