// The group commit's contract, on a real SQLite file, in both of its ways of undoing a failed
// unit: savepoints, and (SQLite's own) rolling the batch back and running the others again.
#include "storage/write_batcher.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <future>
#include <string>
#include <vector>

#include "storage/sqlite/sqlite_database.hpp"
#include "support/server_process.hpp"

namespace assistantd::storage {
namespace {

enum class Mode { kSavepoints, kChangeCount };

class WriteBatcherTest : public ::testing::TestWithParam<Mode> {
 protected:
  using Batcher = WriteBatcher<SqliteConnection>;

  void SetUp() override {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() + "/b.db").c_str(), &raw), SQLITE_OK);
    conn_ = std::make_unique<SqliteConnection>(raw);
    ASSERT_TRUE(conn_->Exec("CREATE TABLE t (k TEXT PRIMARY KEY)"));
    Batcher::Backend b;
    b.with_connection = [this](const std::function<void(SqliteConnection&)>& fn) { fn(*conn_); };
    b.begin = [](SqliteConnection& c) { return c.Exec("BEGIN IMMEDIATE"); };
    b.commit = [this](SqliteConnection& c) {
      ++commits_;
      return c.Exec("COMMIT");
    };
    b.rollback = [](SqliteConnection& c) {
      if (!sqlite3_get_autocommit(c.Raw())) (void)c.Exec("ROLLBACK");
    };
    b.exec = [](SqliteConnection& c, const char* sql) { return c.Exec(sql); };
    b.in_transaction = [](SqliteConnection& c) { return sqlite3_get_autocommit(c.Raw()) == 0; };
    if (GetParam() == Mode::kChangeCount) {
      b.changes = [](SqliteConnection& c) { return sqlite3_total_changes64(c.Raw()); };
      b.sync = [this] {
        ++syncs_;
        return Result<void>{};
      };
    }
    batcher_ = std::make_unique<Batcher>(std::move(b));
  }

  void TearDown() override { batcher_.reset(); }

  static Result<void> Insert(SqliteConnection& c, const std::string& k) {
    return c.Exec("INSERT INTO t VALUES ('" + k + "')");
  }

  std::vector<std::string> Keys() {
    std::vector<std::string> out;
    auto s = conn_->Prepare("SELECT k FROM t ORDER BY k");
    while (true) {
      auto row = s->Step();
      if (!row || !*row) break;
      out.push_back(s->Text(0));
    }
    return out;
  }

  // Runs `units` as one batch: a first unit holds the batch thread until all are queued.
  std::vector<Result<void>> RunAsOneBatch(std::vector<Batcher::Work> units) {
    std::promise<void> started, release;
    auto gate = release.get_future().share();
    auto first = std::async(std::launch::async, [&] {
      return batcher_->Run([&](SqliteConnection&) -> Result<void> {
        started.set_value();
        gate.wait();
        return {};
      });
    });
    started.get_future().wait();
    std::vector<std::future<Result<void>>> outcomes;
    for (auto& u : units) {
      auto p = std::make_shared<std::promise<Result<void>>>();
      outcomes.push_back(p->get_future());
      batcher_->Submit(std::move(u), [p](Result<void> r) { p->set_value(std::move(r)); });
    }
    const int commits_before = commits_;
    release.set_value();
    EXPECT_TRUE(first.get());
    std::vector<Result<void>> out;
    for (auto& f : outcomes) out.push_back(f.get());
    batch_commits_ = commits_ - commits_before;
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<SqliteConnection> conn_;
  std::unique_ptr<Batcher> batcher_;
  std::atomic<int> commits_{0};
  std::atomic<int> syncs_{0};
  int batch_commits_ = 0;  // commits made by RunAsOneBatch, its holding unit's included
};

Result<void> Refused() { return Fail(ErrorCode::kConflict, "refused", "Refused"); }

TEST_P(WriteBatcherTest, AUnitThatFailsAfterWritingLeavesNothingAndTheOthersCommit) {
  std::atomic<int> a_runs{0};
  auto r = RunAsOneBatch({
      [&](SqliteConnection& c) {
        ++a_runs;
        return Insert(c, "a");
      },
      [](SqliteConnection& c) -> Result<void> {
        if (auto w = Insert(c, "b"); !w) return w;
        return Refused();  // after its row was written
      },
      [](SqliteConnection& c) { return Insert(c, "c"); },
  });
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(r[0]);
  ASSERT_FALSE(r[1]);
  EXPECT_EQ(r[1].error().reason, "refused");
  EXPECT_TRUE(r[2]);
  EXPECT_EQ(Keys(), (std::vector<std::string>{"a", "c"}));
  // Without savepoints the batch was rolled back under "b" and "a" ran again; with them,
  // only "b" was undone.
  EXPECT_EQ(a_runs.load(), GetParam() == Mode::kChangeCount ? 2 : 1);
}

TEST_P(WriteBatcherTest, AUnitThatFailsBeforeWritingCostsTheBatchNothing) {
  std::atomic<int> a_runs{0};
  auto r = RunAsOneBatch({
      [&](SqliteConnection& c) {
        ++a_runs;
        return Insert(c, "a");
      },
      [](SqliteConnection&) { return Refused(); },
      [](SqliteConnection& c) { return Insert(c, "a"); },  // a constraint failure
      [](SqliteConnection& c) { return Insert(c, "d"); },
  });
  EXPECT_TRUE(r[0]);
  EXPECT_FALSE(r[1]);
  EXPECT_FALSE(r[2]);
  EXPECT_TRUE(r[3]);
  EXPECT_EQ(Keys(), (std::vector<std::string>{"a", "d"}));
  EXPECT_EQ(a_runs.load(), 1);
  EXPECT_EQ(batch_commits_, 2);  // the holding unit's batch, then these four in one
}

TEST_P(WriteBatcherTest, WhenTheBackendAbortsTheTransactionNothingIsAcknowledged) {
  auto r = RunAsOneBatch({
      [](SqliteConnection& c) { return Insert(c, "a"); },
      [](SqliteConnection& c) -> Result<void> {
        (void)c.Exec("ROLLBACK");  // as SQLite does by itself on a full disk
        return Fail(ErrorCode::kUnavailable, "storage_unavailable", "Disk full");
      },
      [](SqliteConnection& c) { return Insert(c, "c"); },
  });
  EXPECT_FALSE(r[0]);
  EXPECT_FALSE(r[1]);
  EXPECT_TRUE(r[2]);  // queued after the loss: it runs in the next transaction
  EXPECT_EQ(Keys(), (std::vector<std::string>{"c"}));
}

TEST_P(WriteBatcherTest, ACommittedBatchIsAcknowledgedOnlyAfterItsSync) {
  ASSERT_TRUE(batcher_->Run([](SqliteConnection& c) { return Insert(c, "a"); }));
  EXPECT_EQ(syncs_.load(), GetParam() == Mode::kChangeCount ? 1 : 0);
}

// A writer that never pauses (a full queue) must not make the WAL grow without bound: the
// checkpoint's last pass holds the writer lock, so the WAL starts over after each one.
TEST(SqliteCheckpointTest, TheWalStaysBoundedUnderAWriterThatNeverPauses) {
  testing::TempDir dir;
  LogFactory logs("off");
  SqliteSettings settings{dir.path() + "/c.db", 2, 5000};
  settings.checkpoint_pages = 100;
  auto db = SqliteDatabase::Open(settings, logs.Make("storage"));
  ASSERT_TRUE(db) << db.error().internal;
  ASSERT_TRUE((*db)->Write(
      [](SqliteConnection& c) { return c.Exec("CREATE TABLE blobs (b BLOB NOT NULL)"); }));
  constexpr int kUnits = 12000;
  std::atomic<int> left{kUnits};
  std::atomic<int> failed{0};
  std::promise<void> all_done;
  const std::string blob(3000, 'x');  // about one page per row
  for (int i = 0; i < kUnits; ++i) {
    (*db)->Submit(
        [&](SqliteConnection& c) -> Result<void> {
          auto s = c.Prepare("INSERT INTO blobs VALUES (?)");
          if (!s) return tl::unexpected(s.error());
          s->BindBlob(1, blob);
          return s->Run();
        },
        [&](Result<void> r) {
          if (!r) ++failed;
          if (--left == 0) all_done.set_value();
        });
  }
  all_done.get_future().wait();
  EXPECT_EQ(failed.load(), 0);
  // The WAL file keeps its largest size. Without the restarts it would hold every one of the
  // ~12000 pages written.
  struct stat st {};
  ASSERT_EQ(::stat((settings.path + "-wal").c_str(), &st), 0);
  EXPECT_LT(st.st_size, int64_t{4000} * 4096) << "the WAL did not start over";
}

INSTANTIATE_TEST_SUITE_P(Modes, WriteBatcherTest,
                         ::testing::Values(Mode::kSavepoints, Mode::kChangeCount),
                         [](const auto& p) {
                           return p.param == Mode::kSavepoints ? "Savepoints" : "ChangeCount";
                         });

}  // namespace
}  // namespace assistantd::storage
