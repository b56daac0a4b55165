// The storage contract: every backend must pass this suite unchanged. Backends are listed in
// INSTANTIATE_TEST_SUITE_P below.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <future>
#include <thread>

#include "common/logging.hpp"
#include "common/uuid.hpp"
#include "storage/postgres/pg_assistant_store.hpp"
#include "storage/postgres/pg_audit_store.hpp"
#include "storage/postgres/pg_database.hpp"
#include "storage/postgres/pg_sync_store.hpp"
#include "storage/postgres/pg_user_store.hpp"
#include "storage/sqlite/sqlite_assistant_store.hpp"
#include "storage/sqlite/sqlite_audit_store.hpp"
#include "storage/sqlite/sqlite_database.hpp"
#include "storage/sqlite/sqlite_key_store.hpp"
#include "storage/sqlite/sqlite_sync_store.hpp"
#include "storage/sqlite/sqlite_user_store.hpp"
#include "support/list_queries.hpp"
#include "support/server_process.hpp"

namespace assistantd::storage {
namespace {

using domain::AccessScope;
using domain::Assistant;
using nlohmann::json;

struct Backend {
  std::unique_ptr<testing::TempDir> dir;
  std::string pg_admin_url;  // PostgreSQL: the server, to drop the test database afterwards
  std::string pg_database;
  std::unique_ptr<Database> db;
  std::unique_ptr<AssistantStore> assistants;
  std::unique_ptr<UserStore> users;
  std::unique_ptr<SyncStore> sync;
  std::unique_ptr<AuditStore> audit;
  std::unique_ptr<KeyStore> keys;
};

Backend MakeSqlite() {
  Backend b;
  b.dir = std::make_unique<testing::TempDir>();
  LogFactory logs("off");
  auto db = SqliteDatabase::Open({b.dir->path() + "/t.db", 4, 5000}, logs.Make("storage"));
  if (!db) throw std::runtime_error(db.error().internal);
  if (!(*db)->Migrate()) throw std::runtime_error("migrate failed");
  auto assistants = std::make_unique<SqliteAssistantStore>(**db);
  b.sync = std::make_unique<SqliteSyncStore>(**db, *assistants);
  b.assistants = std::move(assistants);
  b.users = std::make_unique<SqliteUserStore>(**db);
  b.audit = std::make_unique<SqliteAuditStore>(**db);
  b.keys = std::make_unique<SqliteKeyStore>(**db);
  b.db = std::move(*db);
  return b;
}

// Runs one statement as the test cluster's superuser (database administration).
void PgAdmin(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  PGresult* r = PQexec(conn, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  const std::string error = PQerrorMessage(conn);
  PQclear(r);
  PQfinish(conn);
  if (!ok) throw std::runtime_error(sql + ": " + error);
}

// A fresh database on the test cluster `make test` starts (scripts/test-services.sh).
Backend MakePostgres() {
  const char* admin = std::getenv("ASSISTANTD_TEST_PG_URL");
  if (!admin || !*admin) {
    throw std::runtime_error(
        "ASSISTANTD_TEST_PG_URL is not set: run `make test`, which starts a PostgreSQL test "
        "cluster, or export a superuser URL");
  }
  Backend b;
  b.pg_admin_url = admin;
  b.pg_database = "contract_" + NewUuid().substr(0, 8) + NewUuid().substr(0, 8);
  PgAdmin(b.pg_admin_url, "CREATE DATABASE " + b.pg_database + " TEMPLATE template0");
  const std::string url = b.pg_admin_url.substr(0, b.pg_admin_url.rfind('/') + 1) + b.pg_database;
  LogFactory logs("off");
  auto db = PgDatabase::Open({url, 4}, logs.Make("storage"));
  if (!db) throw std::runtime_error(db.error().internal);
  if (auto m = (*db)->Migrate(); !m) throw std::runtime_error(m.error().internal);
  auto assistants = std::make_unique<PgAssistantStore>(**db);
  b.sync = std::make_unique<PgSyncStore>(**db, *assistants);
  b.assistants = std::move(assistants);
  b.users = std::make_unique<PgUserStore>(**db);
  b.audit = std::make_unique<PgAuditStore>(**db);
  b.keys = std::make_unique<PgKeyStore>(**db);
  b.db = std::move(*db);
  return b;
}

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { backend_ = GetParam() == "postgres" ? MakePostgres() : MakeSqlite(); }
  void TearDown() override {
    const std::string admin = backend_.pg_admin_url;
    const std::string database = backend_.pg_database;
    backend_ = Backend{};  // closes the pool
    if (!database.empty()) PgAdmin(admin, "DROP DATABASE " + database + " WITH (FORCE)");
  }

  std::string NewUser(domain::Role role = domain::Role::kUser) {
    const std::string id = NewUuid();
    EXPECT_TRUE(backend_.users->EnsureUser(domain::MakeUser(id, "u@example.com", role, now_)));
    return id;
  }

  Assistant Make(const std::string& owner, json fields = json::object()) {
    Assistant a;
    a.id = NewUuid();
    a.user_id = owner;
    a.fields = std::move(fields);
    a.created_at_us = a.updated_at_us = ++now_;
    auto r = backend_.assistants->Create(a, std::nullopt, 0);
    EXPECT_TRUE(r) << (r ? "" : r.error().internal);
    return a;
  }

  AssistantStore& store() { return *backend_.assistants; }
  SyncStore& sync() { return *backend_.sync; }
  std::optional<SyncJob> Claim(int64_t at) {
    auto job = sync().ClaimDue(at, 60'000'000);
    EXPECT_TRUE(job) << (job ? "" : job.error().internal);
    return job ? *job : std::nullopt;
  }
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
  auto upd =
      Upd(a.id, AccessScope{bob, false}, [](const Assistant& c) { return Result<Assistant>(c); });
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
    ASSERT_TRUE(store().Create(a, std::nullopt, 0));
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
  const auto r = store().Create(a, std::nullopt, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_EQ(r.error().reason, "owner_not_found");
}

TEST_P(StoreContractTest, DeletingAUserCascades) {
  const auto alice = NewUser();
  const auto a = Make(alice);
  EXPECT_TRUE(*backend_.users->DeleteUser(alice, now_, std::nullopt));
  EXPECT_FALSE(*store().Get(a.id, {}));
  EXPECT_FALSE(*backend_.users->DeleteUser(alice, now_, std::nullopt));
  EXPECT_FALSE(*backend_.users->GetUser(alice));
}

TEST_P(StoreContractTest, EnsureUserNeverChangesAnExistingRow) {
  const auto id = NewUser(domain::Role::kPremium);
  ASSERT_TRUE(backend_.users->EnsureUser(
      domain::MakeUser(id, "other@example.com", domain::Role::kAdmin, 1)));
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

// GoTrue's admin list: numbered pages, newest first, with the total.
TEST_P(StoreContractTest, NumberedUserPages) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ++now_;
    ids.push_back(NewUser());
  }
  auto first = backend_.users->ListUsersNumbered(0, 2);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->total, 5);
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->items[0].id, ids[4]);
  EXPECT_EQ(first->items[1].id, ids[3]);
  auto last = backend_.users->ListUsersNumbered(4, 2);
  ASSERT_TRUE(last);
  ASSERT_EQ(last->items.size(), 1u);
  EXPECT_EQ(last->items[0].id, ids[0]);
  auto beyond = backend_.users->ListUsersNumbered(10, 2);
  ASSERT_TRUE(beyond);
  EXPECT_TRUE(beyond->items.empty());
  EXPECT_EQ(beyond->total, 5);
}

// The outbox part of the contract.
class SyncStoreContractTest : public StoreContractTest {};

// The key store: sealed keys are bytes (any byte, NUL included) and come back exactly; a put
// replaces; keys are listed in owner order; a user's key goes with the user.
TEST_P(StoreContractTest, StoredKeysRoundTripReplaceListAndGoWithTheirUser) {
  KeyStore& keys = *backend_.keys;
  const std::string alice = NewUser();
  const std::string bob = NewUser();
  static constexpr char kSealed[] = "\x00\x01\xff sealed \x00 bytes";
  const std::string sealed(kSealed, sizeof kSealed - 1);
  ASSERT_TRUE(keys.PutKey(alice, {sealed, "abcd", 10}, std::nullopt));
  ASSERT_TRUE(keys.PutKey(kGlobalKeyOwner, {"global-sealed", "wxyz", 11}, std::nullopt));
  auto got = keys.GetKey(alice);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->sealed, sealed);
  EXPECT_EQ((*got)->last4, "abcd");
  EXPECT_EQ((*got)->updated_at_us, 10);
  auto none = keys.GetKey(bob);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);

  ASSERT_TRUE(keys.PutKey(alice, {"replaced", "efgh", 12}, std::nullopt));
  got = keys.GetKey(alice);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->sealed, "replaced");
  EXPECT_EQ((*got)->updated_at_us, 12);

  ASSERT_TRUE(keys.PutKey(bob, {"bob-sealed", "ijkl", 13}, std::nullopt));
  auto all = keys.AllKeys();
  ASSERT_TRUE(all);
  std::vector<std::string> owners;
  for (const auto& [owner, key] : *all) owners.push_back(owner);
  std::vector<std::string> expected = {alice, bob, kGlobalKeyOwner};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(owners, expected);

  auto deleted = keys.DeleteKey(bob, std::nullopt);
  ASSERT_TRUE(deleted);
  EXPECT_TRUE(*deleted);
  deleted = keys.DeleteKey(bob, std::nullopt);
  ASSERT_TRUE(deleted);
  EXPECT_FALSE(*deleted);

  ASSERT_TRUE(backend_.users->DeleteUser(alice, now_, std::nullopt));
  got = keys.GetKey(alice);
  ASSERT_TRUE(got);
  EXPECT_FALSE(*got);
  got = keys.GetKey(kGlobalKeyOwner);
  ASSERT_TRUE(got && *got);  // the global key is nobody's
}

TEST_P(StoreContractTest, MigrationsAreIdempotentAndReadyAfter) {
  EXPECT_EQ(*backend_.db->Migrate(), 0);
  EXPECT_TRUE(backend_.db->CheckReady());
  EXPECT_GE(backend_.db->LatestSchemaVersion(), 1);
}

TEST_P(SyncStoreContractTest, SyncJobsCoalesceAndAreClaimedInDueOrder) {
  const auto owner = NewUser();
  const auto a = Make(owner, {{"name", "a"}});
  ASSERT_TRUE(Upd(a.id, {}, [](const Assistant& c) -> Result<Assistant> {
    Assistant n = c;
    n.fields["name"] = "a2";
    return n;
  }));
  const auto b = Make(owner);
  const auto first = Claim(now_ + 1);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->assistant_id, a.id);  // one job for both writes, due first
  EXPECT_EQ(first->state, "running");
  const auto second = Claim(now_ + 1);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->assistant_id, b.id);
  EXPECT_FALSE(Claim(now_ + 1));  // both leased
  // An expired lease makes a job claimable again.
  const auto again = sync().ClaimDue(now_ + 1 + 60'000'001, 60'000'000);
  ASSERT_TRUE(again && *again);
}

TEST_P(SyncStoreContractTest, AnInterruptedCreateIsClaimedAgainAsSearchFirst) {
  const auto a = Make(NewUser());
  const int64_t t1 = now_ + 10;
  const auto claimed = Claim(t1);
  ASSERT_TRUE(claimed);
  EXPECT_FALSE(claimed->create_sent_at_us);  // a first create searches nothing
  // The worker dies after perhaps sending the create; start-up requeues its job.
  ASSERT_TRUE(sync().RequeueRunning(t1 + 5));
  const auto retried = Claim(t1 + 10);
  ASSERT_TRUE(retried);
  EXPECT_EQ(retried->create_sent_at_us, t1);
}

TEST_P(SyncStoreContractTest, ARecordedOutcomeClearsTheCreateIntent) {
  const auto a = Make(NewUser());
  const int64_t t1 = now_ + 10;
  const auto claimed = Claim(t1);
  ASSERT_TRUE(claimed);
  SyncOutcome retry;
  retry.kind = SyncOutcome::Kind::kRetry;
  retry.next_attempt_at_us = t1 + 1;
  retry.error = "Vapi answered 400 before creating anything";
  ASSERT_TRUE(sync().Finish(*claimed, retry, t1 + 1));
  const auto next = Claim(t1 + 2);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->attempts, 1);
  EXPECT_FALSE(next->create_sent_at_us);
  SyncOutcome synced;
  synced.kind = SyncOutcome::Kind::kSynced;
  synced.vapi_id = "remote-1";
  synced.synced_version = 1;
  ASSERT_TRUE(sync().Finish(*next, synced, t1 + 3));
  const auto job = sync().LatestJob(a.id);
  ASSERT_TRUE(job && *job);
  EXPECT_EQ((*job)->state, "done");
  EXPECT_EQ((*job)->vapi_id, "remote-1");
  EXPECT_FALSE(Claim(t1 + 4));
}

TEST_P(SyncStoreContractTest, AWorkerWhoseLeaseExpiredCannotRecordItsOutcome) {
  const auto a = Make(NewUser());
  const auto slow = Claim(now_ + 1);
  ASSERT_TRUE(slow);
  // Its lease runs out; another worker claims the job and finishes it.
  const auto fast = sync().ClaimDue(now_ + 1 + 60'000'001, 60'000'000);
  ASSERT_TRUE(fast && *fast);
  SyncOutcome synced;
  synced.kind = SyncOutcome::Kind::kSynced;
  synced.vapi_id = "remote-fast";
  synced.synced_version = 1;
  ASSERT_TRUE(sync().Finish(**fast, synced, now_ + 60'000'010));
  synced.vapi_id = "remote-slow";
  const auto late = sync().Finish(*slow, synced, now_ + 60'000'020);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().reason, "lease_lost");
  EXPECT_EQ((*sync().LatestJob(a.id))->vapi_id, "remote-fast");
}

TEST_P(SyncStoreContractTest, RecordingAnOutcomeCanClaimTheNextJobInTheSameWrite) {
  const auto owner = NewUser();
  const auto a = Make(owner);
  const auto b = Make(owner);
  const auto first = Claim(now_ + 1);
  ASSERT_TRUE(first);
  SyncOutcome synced;
  synced.kind = SyncOutcome::Kind::kSynced;
  synced.vapi_id = "remote-a";
  synced.synced_version = 1;
  auto next = sync().Finish(*first, synced, now_ + 2, 60'000'000);
  ASSERT_TRUE(next && *next);
  EXPECT_EQ((*next)->assistant_id, b.id);
  EXPECT_EQ((*next)->state, "running");
  synced.vapi_id = "remote-b";
  next = sync().Finish(**next, synced, now_ + 3, 60'000'000);
  ASSERT_TRUE(next);
  EXPECT_FALSE(*next);  // nothing else due
  EXPECT_EQ((*sync().LatestJob(a.id))->state, "done");
  EXPECT_EQ((*sync().LatestJob(b.id))->state, "done");
}

TEST_P(SyncStoreContractTest, ReconciliationScanSeesEveryRowAndItsOpenJob) {
  const auto owner = NewUser();
  const auto a = Make(owner);
  const auto b = Make(owner);
  const auto claimed = Claim(now_ + 1);
  ASSERT_TRUE(claimed);
  SyncOutcome synced;
  synced.kind = SyncOutcome::Kind::kSynced;
  synced.vapi_id = "remote-x";
  synced.synced_version = 1;
  ASSERT_TRUE(sync().Finish(*claimed, synced, now_ + 2));
  std::vector<ScannedAssistant> all;
  std::string after;
  for (;;) {
    auto page = sync().ScanAssistants(after, 1);
    ASSERT_TRUE(page);
    if (page->empty()) break;
    after = page->back().assistant.id;
    all.insert(all.end(), page->begin(), page->end());
  }
  ASSERT_EQ(all.size(), 2u);
  EXPECT_LT(all[0].assistant.id, all[1].assistant.id);
  for (const auto& s : all) {
    const bool was_claimed = s.assistant.id == claimed->assistant_id;
    EXPECT_EQ(s.open_job, !was_claimed) << s.assistant.id;
    EXPECT_EQ(s.assistant.vapi_id.has_value(), was_claimed);
  }
  const auto one = sync().ScanAssistant(b.id);
  ASSERT_TRUE(one && *one);
  EXPECT_EQ((*one)->assistant.id, b.id);
  EXPECT_FALSE(*sync().ScanAssistant(NewUuid()));
  const auto instance = sync().InstanceId();
  ASSERT_TRUE(instance);
  EXPECT_EQ(instance->size(), 32u);
  EXPECT_EQ(*sync().InstanceId(), *instance);
  (void)a;
}

// Row-level security on its own: plain SQL as the application role, with the service's
// checks out of the way. Only the policies stand between one user and another's rows.
class PgRowLevelSecurityTest : public StoreContractTest {
 protected:
  // Runs `sql` in a transaction as assistantd_app with `claims`; returns the rows affected or
  // read, or -1 when PostgreSQL refused the statement.
  int64_t AsApp(const json& claims, const std::string& sql) {
    auto* pg = dynamic_cast<PgDatabase*>(backend_.db.get());
    auto conn = pg->Acquire();
    auto tx = PgTransaction::Begin(*conn, claims);
    EXPECT_TRUE(tx);
    auto r = conn->Exec(sql);
    if (!r) return -1;
    EXPECT_TRUE(tx->Commit());
    return r->Rows() > 0 ? r->Rows() : r->Affected();
  }
};

TEST_P(PgRowLevelSecurityTest, PoliciesHoldWithoutTheServicesOwnChecks) {
  const auto alice = NewUser();
  const auto bob = NewUser();
  const auto bobs = Make(bob, {{"name", "Bob's"}});
  const auto bobs_test = Make(bob, {{"metadata", {{"is_test", true}}}});
  Make(alice, {{"name", "Alice's"}});
  const json as_alice = UserClaims(alice, "authenticated");

  EXPECT_EQ(AsApp(as_alice, "SELECT id FROM assistants"), 1);  // only her own
  EXPECT_EQ(AsApp(as_alice, "SELECT id FROM assistants WHERE user_id = '" + bob + "'"), 0);
  EXPECT_EQ(AsApp(as_alice, "UPDATE assistants SET name = 'taken' WHERE id = '" + bobs.id + "'"),
            0);
  EXPECT_EQ(AsApp(as_alice, "DELETE FROM assistants WHERE user_id = '" + bob + "'"), 0);
  // Writing a row for someone else is refused outright.
  EXPECT_EQ(
      AsApp(as_alice, "INSERT INTO assistants (id, user_id, created_at, updated_at) VALUES ('" +
                          NewUuid() + "', '" + bob + "', now(), now())"),
      -1);
  EXPECT_EQ(AsApp(as_alice, "UPDATE assistants SET user_id = '" + bob + "'"), -1);
  ASSERT_EQ(AsApp(ServiceClaims(),
                  "INSERT INTO vapi_keys VALUES ('" + bob + "', '\\x00', 'abcd', now())"),
            1);
  EXPECT_EQ(AsApp(as_alice, "SELECT owner FROM vapi_keys"), 0);
  EXPECT_EQ(AsApp(UserClaims(bob, "authenticated"), "SELECT owner FROM vapi_keys"), 1);
  EXPECT_EQ(AsApp(json::object(), "SELECT id FROM assistants"), 0);  // no claims, no rows

  // The test role reaches only its own test rows.
  const json bob_as_test = UserClaims(bob, "test");
  EXPECT_EQ(AsApp(bob_as_test, "SELECT id FROM assistants"), 1);
  EXPECT_EQ(AsApp(bob_as_test, "SELECT id FROM assistants WHERE id = '" + bobs.id + "'"), 0);
  EXPECT_EQ(
      AsApp(bob_as_test, "UPDATE assistants SET is_test = false WHERE id = '" + bobs_test.id + "'"),
      -1);

  // Admins and the service see everything; so does nothing else.
  EXPECT_EQ(AsApp(UserClaims(alice, "admin"), "SELECT id FROM assistants"), 3);
  EXPECT_EQ(AsApp(ServiceClaims(), "SELECT id FROM assistants"), 3);
  // Forced: the table owner is subject to the policies too (only a superuser bypasses).
  EXPECT_EQ(AsApp(as_alice,
                  "SELECT relforcerowsecurity FROM pg_class WHERE relname = 'assistants' "
                  "AND relforcerowsecurity"),
            1);
}

TEST_P(PgRowLevelSecurityTest, AFailedPipelinedStatementLeavesTheConnectionClean) {
  auto* pg = dynamic_cast<PgDatabase*>(backend_.db.get());
  for (int i = 0; i < 10; ++i) {  // more than the pool holds: every connection fails once
    const auto bad = pg->Query(ServiceClaims(), "SELECT 1 / $1::integer", {"0"});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::kInternal);
    const auto good = pg->Query(ServiceClaims(), "SELECT 1 / $1::integer", {"1"});
    ASSERT_TRUE(good) << good.error().internal;
    EXPECT_EQ(good->Int(0, 0), 1);
    // Each statement ran in its own committed transaction, as the application role.
    const auto role =
        pg->Query(UserClaims(NewUuid(), "authenticated"), "SELECT current_user, auth.role()");
    ASSERT_TRUE(role);
    EXPECT_EQ(role->Text(0, 0), "assistantd_app");
    EXPECT_EQ(role->Text(0, 1), "authenticated");
  }
}

TEST_P(PgRowLevelSecurityTest, PooledConnectionsTheServerClosedAreReopenedBeforeUse) {
  auto* pg = dynamic_cast<PgDatabase*>(backend_.db.get());
  // The server ends every connection of this database (as a restart does) while they idle.
  PgAdmin(backend_.pg_admin_url,
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
              backend_.pg_database + "'");
  for (;;) {  // until the server has closed them all
    PGconn* c = PQconnectdb(backend_.pg_admin_url.c_str());
    PGresult* r = PQexec(
        c, ("SELECT count(*) FROM pg_stat_activity WHERE datname = '" + backend_.pg_database + "'")
               .c_str());
    const bool gone = std::string(PQgetvalue(r, 0, 0)) == "0";
    PQclear(r);
    PQfinish(c);
    if (gone) break;
  }
  // Every pooled connection (4), held at once so each is a different one, works first time.
  std::vector<PgDatabase::Lease> held;
  for (int i = 0; i < 4; ++i) held.push_back(pg->Acquire());
  for (auto& conn : held) {
    const auto r = conn->Exec("SELECT 1");
    EXPECT_TRUE(r) << r.error().internal;
  }
}

TEST(PgRetryTest, DeadlocksAndSerializationFailuresAreRetriedUpToThreeTimes) {
  const auto busy = [] {
    return tl::unexpected(Error{ErrorCode::kUnavailable, "database_busy", "busy", {}, ""});
  };
  int calls = 0;
  auto r = RetryTransient([&]() -> Result<int> {
    if (++calls < 3) return busy();
    return 7;
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(calls, 3);
  calls = 0;
  r = RetryTransient([&]() -> Result<int> {
    ++calls;
    return busy();
  });
  EXPECT_FALSE(r);
  EXPECT_EQ(calls, 3);
  calls = 0;
  r = RetryTransient([&]() -> Result<int> {
    ++calls;
    return Fail(ErrorCode::kInvalidInput, "validation_failed", "no");
  });
  EXPECT_EQ(r.error().reason, "validation_failed");
  EXPECT_EQ(calls, 1);  // only transient failures are retried
}

// --- Accounts, sessions and refresh tokens ----------------------------------------------

domain::User Account(const std::string& email, int64_t now) {
  domain::User u = domain::MakeUser(NewUuid(), email, domain::Role::kUser, now);
  u.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
  u.user_metadata = {{"name", "Ada"}};
  return u;
}

TEST_P(StoreContractTest, AccountsAreUniqueByEmailAndKeepEveryField) {
  auto u = Account("ada@example.com", now_);
  u.email_confirmed_at_us = now_;
  u.preferences = {{"language", "fr"}};
  u.display_name = "Ada";
  ASSERT_TRUE(backend_.users->CreateAccount(u, std::nullopt, std::nullopt));
  const auto again =
      backend_.users->CreateAccount(Account("ada@example.com", now_), std::nullopt, std::nullopt);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().reason, "user_already_exists");
  const auto found = backend_.users->FindAccountByEmail("ada@example.com");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->id, u.id);
  EXPECT_EQ((*found)->password_hash, u.password_hash);
  EXPECT_EQ((*found)->email_confirmed_at_us, now_);
  EXPECT_EQ((*found)->user_metadata, u.user_metadata);
  EXPECT_EQ((*found)->preferences, u.preferences);
  EXPECT_EQ((*found)->display_name, "Ada");
  EXPECT_FALSE(*backend_.users->FindAccountByEmail("nobody@example.com"));
  // A JWT-only user with the same e-mail is not an account.
  ASSERT_TRUE(backend_.users->EnsureUser(
      domain::MakeUser(NewUuid(), "jwt@example.com", domain::Role::kUser, now_)));
  EXPECT_FALSE(*backend_.users->FindAccountByEmail("jwt@example.com"));

  auto other = Account("bob@example.com", now_);
  ASSERT_TRUE(backend_.users->CreateAccount(other, std::nullopt, std::nullopt));
  other.email = "ada@example.com";
  const auto clash = backend_.users->UpdateUser(other, std::nullopt);
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().reason, "email_exists");
  u.role = domain::Role::kPremium;
  u.banned_until_us = now_ + 1000;
  ASSERT_TRUE(backend_.users->UpdateUser(u, std::nullopt));
  const auto updated = **backend_.users->GetUser(u.id);
  EXPECT_EQ(updated.role, domain::Role::kPremium);
  EXPECT_EQ(updated.banned_until_us, now_ + 1000);
}

TEST_P(StoreContractTest, RefreshTokensRotateAndAReusedOneEndsTheSession) {
  const auto u = Account("s@example.com", now_);
  ASSERT_TRUE(backend_.users->CreateAccount(u, std::nullopt, std::nullopt));
  const AuthSession s{NewUuid(), u.id, now_, now_, now_};
  ASSERT_TRUE(backend_.users->CreateSession({s, "t0", std::nullopt}));
  EXPECT_EQ((**backend_.users->GetUser(u.id)).last_sign_in_at_us, now_);
  using Kind = RefreshOutcome::Kind;
  auto r = backend_.users->RefreshSession("t0", "t1", now_ + 1, 0, std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, Kind::kRotated);
  EXPECT_EQ(r->session.id, s.id);
  EXPECT_EQ(r->session.refreshed_at_us, now_ + 1);
  EXPECT_EQ(backend_.users->RefreshSession("nope", "x", now_, 0, std::nullopt)->kind,
            Kind::kNotFound);
  // Inside the interval the immediate parent of the live token is accepted once more.
  EXPECT_EQ(backend_.users->RefreshSession("t0", "t1b", now_ + 2, 10, std::nullopt)->kind,
            Kind::kRotated);
  // Outside it the whole session goes.
  EXPECT_EQ(backend_.users->RefreshSession("t0", "t2", now_ + 100, 10, std::nullopt)->kind,
            Kind::kReused);
  EXPECT_FALSE(*backend_.users->GetSession(s.id));
  EXPECT_EQ(backend_.users->RefreshSession("t1", "t3", now_ + 101, 10, std::nullopt)->kind,
            Kind::kNotFound);
  EXPECT_EQ(backend_.users->RefreshSession("t1b", "t3", now_ + 101, 10, std::nullopt)->kind,
            Kind::kNotFound);
}

TEST_P(StoreContractTest, EndSessionsByScopeAndCascadeWithTheUser) {
  const auto u = Account("e@example.com", now_);
  ASSERT_TRUE(backend_.users->CreateAccount(u, std::nullopt, std::nullopt));
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(NewUuid());
    ASSERT_TRUE(backend_.users->CreateSession(
        {{ids.back(), u.id, now_, now_, now_}, "tok" + std::to_string(i), std::nullopt}));
  }
  EXPECT_EQ(*backend_.users->EndSessions(u.id, SessionScope::kOnly, ids[0], std::nullopt), 1);
  EXPECT_EQ(*backend_.users->EndSessions(u.id, SessionScope::kOthers, ids[1], std::nullopt), 2);
  EXPECT_TRUE(*backend_.users->GetSession(ids[1]));
  EXPECT_EQ(backend_.users->RefreshSession("tok2", "x", now_, 0, std::nullopt)->kind,
            RefreshOutcome::Kind::kNotFound);
  ASSERT_TRUE(backend_.users->DeleteUser(u.id, now_, std::nullopt));
  EXPECT_FALSE(*backend_.users->GetSession(ids[1]));
  EXPECT_EQ(backend_.users->RefreshSession("tok1", "y", now_, 0, std::nullopt)->kind,
            RefreshOutcome::Kind::kNotFound);
}

TEST_P(StoreContractTest, ConcurrentRefreshesOfOneTokenRotateItOnce) {
  const auto u = Account("c@example.com", now_);
  ASSERT_TRUE(backend_.users->CreateAccount(u, std::nullopt, std::nullopt));
  ASSERT_TRUE(
      backend_.users->CreateSession({{NewUuid(), u.id, now_, now_, now_}, "root", std::nullopt}));
  std::atomic<int> rotated{0};
  std::atomic<int> reused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      const auto r = backend_.users->RefreshSession("root", "child" + std::to_string(i), now_, 0,
                                                    std::nullopt);
      if (r && r->kind == RefreshOutcome::Kind::kRotated) ++rotated;
      if (r && r->kind == RefreshOutcome::Kind::kReused) ++reused;
    });
  }
  for (auto& t : threads) t.join();
  // One use rotates it; the next is a replay (the session ends); later ones find nothing.
  EXPECT_EQ(rotated.load(), 1);
  EXPECT_EQ(reused.load(), 1);
}

TEST_P(StoreContractTest, QuotaHoldsUnderConcurrentCreates) {
  const auto owner = NewUser();
  std::atomic<int> ok{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        domain::Assistant a;
        a.id = NewUuid();
        a.user_id = owner;
        a.fields = {{"name", "q"}};
        a.created_at_us = a.updated_at_us = now_;
        const auto r = backend_.assistants->Create(a, std::nullopt, 7);
        if (r) ++ok;
        if (!r && r.error().code == ErrorCode::kQuotaExceeded) ++refused;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 7);
  EXPECT_EQ(refused.load(), 13);
}

// Writes submitted together share a transaction (and on PostgreSQL a pipeline): each one that
// fails, wherever it falls in the batch, gets its own error and leaves nothing, and every
// other one commits, including updates that read in the middle of the batch.
TEST_P(StoreContractTest, EachWriteOfAMixedBatchGetsItsOwnOutcome) {
  const auto limited = NewUser();
  const auto free = NewUser();
  const Assistant existing = Make(free, {{"name", "before"}});
  enum class Kind { kLimited, kMissingOwner, kFree, kUpdate };
  std::vector<Kind> kinds;
  for (int i = 0; i < 60; ++i) kinds.push_back(static_cast<Kind>(i % 4));
  std::vector<std::promise<Result<void>>> outcomes(kinds.size());
  for (size_t i = 0; i < kinds.size(); ++i) {
    auto done = [&outcomes, i](auto r) {
      outcomes[i].set_value(r ? Result<void>() : Result<void>(tl::unexpected(r.error())));
    };
    if (kinds[i] == Kind::kUpdate) {
      store().SubmitUpdate(
          existing.id, AccessScope{free, false},
          [i](const Assistant& current) -> Result<Assistant> {
            Assistant next = current;
            next.fields["name"] = "v" + std::to_string(i);
            return next;
          },
          std::nullopt, {}, std::move(done));
      continue;
    }
    Assistant a;
    a.id = NewUuid();
    a.user_id = kinds[i] == Kind::kMissingOwner ? NewUuid()
                : kinds[i] == Kind::kLimited    ? limited
                                                : free;
    a.fields = {{"name", "n" + std::to_string(i)}};
    a.created_at_us = a.updated_at_us = ++now_;
    store().SubmitCreate(a, std::nullopt, kinds[i] == Kind::kLimited ? 4 : 0, {}, std::move(done));
  }
  int limited_ok = 0, refused = 0;
  for (size_t i = 0; i < kinds.size(); ++i) {
    const auto r = outcomes[i].get_future().get();
    switch (kinds[i]) {
      case Kind::kLimited:
        if (r) {
          ++limited_ok;
        } else {
          EXPECT_EQ(r.error().code, ErrorCode::kQuotaExceeded) << i;
          ++refused;
        }
        break;
      case Kind::kMissingOwner:
        ASSERT_FALSE(r) << i;
        EXPECT_EQ(r.error().reason, "owner_not_found") << i;
        break;
      case Kind::kFree:
      case Kind::kUpdate:
        EXPECT_TRUE(r) << i << ": " << (r ? "" : r.error().internal);
        break;
    }
  }
  EXPECT_EQ(limited_ok, 4);
  EXPECT_EQ(refused, 11);
  domain::ListQuery q;
  q.scope = AccessScope{limited, false};
  q.limit = 100;
  EXPECT_EQ(store().List(q)->items.size(), 4u);
  q.scope = AccessScope{free, false};
  EXPECT_EQ(store().List(q)->items.size(), 16u);  // 15 created and the one updated
  const auto updated = store().Get(existing.id, AccessScope{free, false});
  ASSERT_TRUE(updated && *updated);
  EXPECT_EQ((*updated)->version, existing.version + 15);
}

// --- Audit log ------------------------------------------------------------------------------

domain::AuditEntry Entry(const std::string& actor, const std::string& action, int64_t at) {
  domain::AuditEntry e;
  e.at_us = at;
  e.actor_id = actor;
  e.actor_role = "user";
  e.action = action;
  e.target_type = "assistant";
  e.target_id = NewUuid();
  e.subject_user_id = actor;
  e.request_id = "req";
  e.ip = "127.0.0.1";
  e.after = {{"name", "x"}, {"n", 1.5}};
  return e;
}

TEST_P(StoreContractTest, AuditAppendsChainWithoutGapsUnderConcurrency) {
  const std::string a = NewUuid();
  const std::string b = NewUuid();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(backend_.audit->Append(Entry(t % 2 ? a : b, "assistant.create", now_ + i)));
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto all = backend_.audit->ScanAudit(0, 100);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 40u);
  std::string prev = domain::kAuditGenesisHash;
  for (size_t i = 0; i < all->size(); ++i) {
    const auto& e = (*all)[i];
    EXPECT_EQ(e.seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(e.prev_hash, prev);
    EXPECT_EQ(domain::AuditHash(e), e.hash);  // read back exactly as hashed
    prev = e.hash;
  }
  AuditQuery q;
  q.subject_or_actor = a;
  q.limit = 100;
  EXPECT_EQ(backend_.audit->QueryAudit(q)->size(), 20u);
  q.limit = 5;
  q.before_seq = 30;
  const auto page = backend_.audit->QueryAudit(q);
  ASSERT_EQ(page->size(), 5u);
  EXPECT_LT(page->front().seq, 30);
  EXPECT_GT(page->front().seq, page->back().seq);
  AuditQuery by_action;
  by_action.action = "assistant.delete";
  EXPECT_TRUE(backend_.audit->QueryAudit(by_action)->empty());
  AuditQuery by_time;
  by_time.since_us = now_ + 9;
  by_time.limit = 100;
  EXPECT_EQ(backend_.audit->QueryAudit(by_time)->size(), 4u);
}

// Each change to accounts, sessions and keys commits with its entry, and a change that fails
// or finds nothing to change leaves none.
TEST_P(StoreContractTest, AccountSessionAndKeyChangesCommitWithTheirAuditEntry) {
  auto u = Account("audited@example.com", now_);
  const auto entry = [&](const char* action) { return ChangeAudit(Entry(u.id, action, now_)); };
  ASSERT_TRUE(backend_.users->CreateAccount(u, entry("user.create"), std::nullopt));
  EXPECT_FALSE(backend_.users->CreateAccount(Account("audited@example.com", now_),
                                             entry("user.create"), std::nullopt));
  u.display_name = "Ada";
  ASSERT_TRUE(*backend_.users->UpdateUser(u, entry("user.update")));
  EXPECT_FALSE(
      *backend_.users->UpdateUser(Account("nobody@example.com", now_), entry("user.update")));
  ASSERT_TRUE(backend_.users->CreateSession(
      {{NewUuid(), u.id, now_, now_, now_}, "a0", entry("session.create")}));
  // A rotation is not audited; a reuse ends the session and is.
  EXPECT_EQ(backend_.users->RefreshSession("a0", "a1", now_ + 1, 0, entry("session.revoke"))->kind,
            RefreshOutcome::Kind::kRotated);
  EXPECT_EQ(backend_.users->RefreshSession("a0", "a2", now_ + 2, 0, entry("session.revoke"))->kind,
            RefreshOutcome::Kind::kReused);
  EXPECT_EQ(*backend_.users->EndSessions(u.id, SessionScope::kAll, "", entry("session.end")), 0);
  ASSERT_TRUE(backend_.keys->PutKey(u.id, {"sealed", "abcd", now_}, entry("vapi_key.put")));
  EXPECT_TRUE(*backend_.keys->DeleteKey(u.id, entry("vapi_key.delete")));
  EXPECT_FALSE(*backend_.keys->DeleteKey(u.id, entry("vapi_key.delete")));
  EXPECT_TRUE(*backend_.users->DeleteUser(u.id, now_, entry("user.delete")));
  EXPECT_FALSE(*backend_.users->DeleteUser(u.id, now_, entry("user.delete")));

  AuditQuery q;  // a query sees every committed entry (PostgreSQL seals them first)
  q.limit = 100;
  const auto all = backend_.audit->QueryAudit(q);
  ASSERT_TRUE(all);
  std::vector<std::string> actions;
  for (auto e = all->rbegin(); e != all->rend(); ++e) actions.push_back(e->action);
  EXPECT_EQ(actions, (std::vector<std::string>{"user.create", "user.update", "session.create",
                                               "session.revoke", "session.end", "vapi_key.put",
                                               "vapi_key.delete", "user.delete"}));
}

// A sign-up that signs in writes the account, its session and both entries together; when the
// session cannot be written (here: its id is taken), neither the account nor an entry exists.
TEST_P(StoreContractTest, AnAccountAndItsFirstSessionCommitTogetherOrNotAtAll) {
  const auto first = Account("first@example.com", now_);
  const AuthSession taken{NewUuid(), first.id, now_, now_, now_};
  const auto entry = [&](const std::string& user, const char* action) {
    return ChangeAudit(Entry(user, action, now_));
  };
  ASSERT_TRUE(backend_.users->CreateAccount(
      first, entry(first.id, "user.create"),
      NewSession{taken, "first-token", entry(first.id, "session.create")}));
  EXPECT_EQ((**backend_.users->GetUser(first.id)).last_sign_in_at_us, now_);
  EXPECT_EQ(backend_.users->RefreshSession("first-token", "next", now_ + 1, 0, std::nullopt)->kind,
            RefreshOutcome::Kind::kRotated);

  const auto second = Account("second@example.com", now_);
  AuthSession clash = taken;
  clash.user_id = second.id;
  EXPECT_FALSE(backend_.users->CreateAccount(
      second, entry(second.id, "user.create"),
      NewSession{clash, "second-token", entry(second.id, "session.create")}));
  EXPECT_FALSE(*backend_.users->GetUser(second.id));
  EXPECT_FALSE(*backend_.users->FindAccountByEmail("second@example.com"));
  EXPECT_FALSE(*backend_.users->RefreshTokenOwner("second-token"));
  AuditQuery q;
  q.limit = 100;
  const auto all = backend_.audit->QueryAudit(q);
  ASSERT_TRUE(all);
  for (const auto& e : *all) EXPECT_NE(e.subject_user_id, second.id) << e.action;
}

// Every documented list query has an index to read on PostgreSQL: with sequential scans
// priced out, no plan scans the assistants table, and owner-scoped ones search by owner.
class PgPlanTest : public StoreContractTest {
 protected:
  void ExpectIndexed(const domain::ListQuery& q, const std::string& what) {
    auto* store = dynamic_cast<PgAssistantStore*>(backend_.assistants.get());
    ASSERT_NE(store, nullptr);
    auto plan = store->ExplainList(q);
    ASSERT_TRUE(plan) << what << ": " << plan.error().internal;
    std::string text;
    for (const auto& line : *plan) text += line + "\n";
    EXPECT_EQ(text.find("Seq Scan on assistants"), std::string::npos) << what << ":\n" << text;
    // An owner's list never walks a whole index: every index it reads, it searches (which
    // index, the planner picks from the statistics: the owner's, or a status's when that is
    // rarer).
    if (q.scope.owner_id) {
      int scans = 0;
      int conds = 0;
      for (const auto& line : *plan) {
        if (line.find("Index Scan using") != std::string::npos ||
            line.find("Index Only Scan using") != std::string::npos ||
            line.find("Bitmap Index Scan on") != std::string::npos) {
          ++scans;
        }
        if (line.find("Index Cond") != std::string::npos) ++conds;
      }
      EXPECT_GT(scans, 0) << what << ":\n" << text;
      EXPECT_EQ(conds, scans) << what << ": an index read without a search\n" << text;
    }
  }
};

TEST_P(PgPlanTest, EveryListQueryUsesAnIndex) {
  const std::string owner = NewUser();
  for (int i = 0; i < 20; ++i) Make(owner, {{"name", "Bot " + std::to_string(i)}});
  for (const auto& [what, q] : testing::DocumentedListQueries(owner, now_)) ExpectIndexed(q, what);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, ::testing::Values("sqlite", "postgres"));
INSTANTIATE_TEST_SUITE_P(Backends, SyncStoreContractTest, ::testing::Values("sqlite", "postgres"));
INSTANTIATE_TEST_SUITE_P(Backends, PgRowLevelSecurityTest, ::testing::Values("postgres"));
INSTANTIATE_TEST_SUITE_P(Backends, PgPlanTest, ::testing::Values("postgres"));

}  // namespace
}  // namespace assistantd::storage
