#pragma once

#include <functional>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "domain/assistant.hpp"
#include "domain/audit_entry.hpp"
#include "domain/list_query.hpp"
#include "domain/principal.hpp"
#include "domain/user.hpp"
#include "storage/migration.hpp"

// The storage interfaces. Every backend (SQLite, PostgreSQL) implements them with the same
// behaviour; the contract suite in tests/storage runs against each.
namespace assistantd::storage {

// A constraint violation (kConflict) given the reason and message its caller means by it;
// other errors pass through unchanged.
inline Error RenameConflict(Error e, std::string reason, std::string message) {
  if (e.code == ErrorCode::kConflict) {
    e.reason = std::move(reason);
    e.message = std::move(message);
  }
  return e;
}

// An insert refused by the foreign key to users: the assistant's owner no longer exists.
inline Error AsOwnerNotFound(Error e) {
  return RenameConflict(std::move(e), "owner_not_found", "The assistant's owner does not exist");
}

// Recording a sync outcome after the claim's lease passed to another worker.
inline tl::unexpected<Error> LeaseLost() {
  return Fail(ErrorCode::kConflict, "lease_lost",
              "The job's lease expired and another worker claimed it");
}

// The owner already has `limit` assistants.
inline tl::unexpected<Error> QuotaExceeded(int64_t limit, int64_t usage) {
  return Fail(
      ErrorCode::kQuotaExceeded, "quota_exceeded",
      "Assistant quota reached: " + std::to_string(usage) + " of " + std::to_string(limit) +
          " allowed for this account",
      nlohmann::json::array({{{"quota", "assistants"}, {"limit", limit}, {"usage", usage}}}));
}

// Receives the outcome of a write submitted for group commit; called on the store's writer
// thread once the write is durable (or failed), so it should hand heavy work elsewhere.
template <class T>
using Completion = std::function<void(Result<T>)>;

// Waits for a submitted write: `submit` is called with the completion to pass on.
template <class T, class Submit>
Result<T> AwaitWrite(Submit&& submit) {
  std::promise<Result<T>> promise;
  auto future = promise.get_future();
  submit([&promise](Result<T> r) { promise.set_value(std::move(r)); });
  return future.get();
}

// The audit entry of a change to an assistant, from the row before and after it (null where
// there is none). The store appends it in the change's own transaction, so no change commits
// without its entry.
using AssistantAudit = std::function<domain::AuditEntry(const domain::Assistant* before,
                                                        const domain::Assistant* after)>;

// The audit entry of any other change, appended in the change's own transaction when the
// change made one (nullopt: not audited). Deletes that find nothing, updates of a missing
// row and failed writes leave no entry.
using ChangeAudit = std::optional<domain::AuditEntry>;

// A check of the row a write is about to change, run inside the write's transaction, so no
// other write can come between the check and the change (an If-Match precondition): an error
// stops the write and is its answer. Empty: no check.
using Precondition = std::function<Result<void>(const domain::Assistant& current)>;

// Writes (Create, Update, Delete) are submitted and complete asynchronously: the backend
// commits concurrent writes together (one WAL flush for many) and calls each completion when
// its write is on disk. The synchronous forms wait for that completion.
class AssistantStore {
 public:
  virtual ~AssistantStore() = default;

  // Inserts a new assistant whose id, owner, fields and timestamps the caller has set.
  // kConflict if its owner no longer exists. Every write queues the assistant's sync job in
  // the same transaction; `job_key` (a sealed per-request Vapi key) travels with it. When
  // `max_assistants` > 0 the owner's count (assistants not being deleted) is checked in the
  // same transaction, serialised per owner, so concurrent creates cannot overshoot it:
  // kQuotaExceeded "quota_exceeded" (QuotaExceeded) when the owner already has that many.
  virtual void SubmitCreate(domain::Assistant assistant, std::optional<std::string> job_key,
                            int64_t max_assistants, AssistantAudit audit,
                            Completion<domain::Assistant> done) = 0;
  Result<domain::Assistant> Create(const domain::Assistant& assistant,
                                   const std::optional<std::string>& job_key,
                                   int64_t max_assistants, AssistantAudit audit = {}) {
    return AwaitWrite<domain::Assistant>([&](auto done) {
      SubmitCreate(assistant, job_key, max_assistants, std::move(audit), std::move(done));
    });
  }

  // The assistant with this id inside `scope`, or nullopt (outside the scope = not found).
  virtual Result<std::optional<domain::Assistant>> Get(const std::string& id,
                                                       const domain::AccessScope& scope) = 0;

  // One page in (created_at desc, id desc) order.
  virtual Result<domain::ListPage> List(const domain::ListQuery& query) = 0;

  // Reads the assistant inside `scope`, lets `mutate` compute its new state and writes it, in
  // one transaction. nullopt if not found. The store sets version and updated_at.
  using Mutation = std::function<Result<domain::Assistant>(const domain::Assistant& current)>;
  // The row an Update writes: `mutate`'s result with the identity, owner and creation time of
  // `current` kept and the version bumped (what every backend's Update does).
  static Result<domain::Assistant> NextVersion(const domain::Assistant& current,
                                               const Mutation& mutate) {
    auto next = mutate(current);
    if (!next) return next;
    next->id = current.id;
    next->user_id = current.user_id;
    next->created_at_us = current.created_at_us;
    next->version = current.version + 1;
    return next;
  }
  virtual void SubmitUpdate(std::string id, domain::AccessScope scope, Mutation mutate,
                            std::optional<std::string> job_key, AssistantAudit audit,
                            Completion<std::optional<domain::Assistant>> done) = 0;
  Result<std::optional<domain::Assistant>> Update(const std::string& id,
                                                  const domain::AccessScope& scope,
                                                  const Mutation& mutate,
                                                  const std::optional<std::string>& job_key,
                                                  AssistantAudit audit = {}) {
    return AwaitWrite<std::optional<domain::Assistant>>([&](auto done) {
      SubmitUpdate(id, scope, mutate, job_key, std::move(audit), std::move(done));
    });
  }

  // Deletes the assistant inside `scope`: it disappears from the API at once and its sync
  // job removes the remote copy, then the row. False if there was none; `precondition`'s
  // error if it refused the row.
  virtual void SubmitDelete(std::string id, domain::AccessScope scope, int64_t now_us,
                            std::optional<std::string> job_key, AssistantAudit audit,
                            Precondition precondition, Completion<bool> done) = 0;
  Result<bool> Delete(const std::string& id, const domain::AccessScope& scope, int64_t now_us,
                      const std::optional<std::string>& job_key, AssistantAudit audit = {},
                      Precondition precondition = {}) {
    return AwaitWrite<bool>([&](auto done) {
      SubmitDelete(id, scope, now_us, job_key, std::move(audit), std::move(precondition),
                   std::move(done));
    });
  }

  // Inserts an assistant exactly as exported (every server-owned field kept), queueing a
  // sync job only when `queue_sync` (it had one open). For `assistantd import`.
  virtual Result<void> Restore(const domain::Assistant& assistant, bool queue_sync) = 0;
};

// A signed-in session (Supabase's session_id); its refresh tokens rotate on every use.
struct AuthSession {
  std::string id;
  std::string user_id;
  int64_t signed_in_at_us = 0;  // the password sign-in (the token's amr timestamp)
  int64_t created_at_us = 0;
  int64_t refreshed_at_us = 0;
};

// A session to start with its first refresh token (by digest), and the entry that records it.
struct NewSession {
  AuthSession session;
  std::string token_hash;
  ChangeAudit audit;
};

struct RefreshOutcome {
  enum class Kind { kRotated, kNotFound, kReused };
  Kind kind = Kind::kNotFound;
  AuthSession session;  // set when kRotated
};

// Which sessions EndSessions deletes: all the user's, only the given one, or all but it.
enum class SessionScope { kAll, kOnly, kOthers };

struct UserPage {
  std::vector<domain::User> items;
  std::optional<domain::ListCursor> next;
};

// A numbered page of users (GoTrue's admin list) and how many users there are in all.
struct NumberedUserPage {
  std::vector<domain::User> items;
  int64_t total = 0;
};

class UserStore {
 public:
  virtual ~UserStore() = default;

  // Creates the user row if it does not exist yet; never changes an existing one.
  virtual Result<void> EnsureUser(const domain::User& user) = 0;
  virtual Result<std::optional<domain::User>> GetUser(const std::string& id) = 0;
  virtual Result<UserPage> ListUsers(const std::optional<domain::ListCursor>& after, int limit) = 0;
  // Newest first, skipping `offset` users; with the total count, read in one snapshot.
  virtual Result<NumberedUserPage> ListUsersNumbered(int64_t offset, int limit) = 0;
  // Deletes the user and, by ON DELETE CASCADE, their assistants, queueing the remote
  // deletion of every assistant that may exist in Vapi. False if absent.
  virtual Result<bool> DeleteUser(const std::string& id, int64_t now_us,
                                  const ChangeAudit& audit) = 0;

  // --- Accounts (sign-up, sign-in) and their sessions -------------------------------------
  // Inserts a password account and, when given, its first session, in one transaction (a
  // sign-up that signs in either does both or neither). kConflict "user_already_exists" when
  // an account already holds the e-mail.
  virtual Result<void> CreateAccount(const domain::User& user, const ChangeAudit& audit,
                                     const std::optional<NewSession>& first_session) = 0;
  // The password account with this (lower-cased) e-mail.
  virtual Result<std::optional<domain::User>> FindAccountByEmail(const std::string& email) = 0;
  // Writes every mutable field of the user (email, password hash, role, metadata, ban,
  // confirmation, profile, updated_at). kConflict "email_exists" when another account holds
  // the new e-mail. False if the user does not exist.
  virtual Result<bool> UpdateUser(const domain::User& user, const ChangeAudit& audit) = 0;
  // Starts a session with its first refresh token and records the sign-in time on the user.
  virtual Result<void> CreateSession(const NewSession& session) = 0;
  virtual Result<std::optional<AuthSession>> GetSession(const std::string& id) = 0;
  // Uses a refresh token (by digest), in one transaction: a live token is revoked and
  // `new_token_hash` issued as its child; a token revoked at most `reuse_interval_us` ago whose
  // child is still live gets a new child too (two tabs refreshing at once); any other revoked
  // token ends its whole session (kReused), and only then is `on_reuse` appended.
  virtual Result<RefreshOutcome> RefreshSession(const std::string& token_hash,
                                                const std::string& new_token_hash, int64_t now_us,
                                                int64_t reuse_interval_us,
                                                const ChangeAudit& on_reuse) = 0;
  // The user whose session a refresh token (by digest) belongs to, spent or not; nullopt if
  // the token is unknown. Lets per-account limits apply before the token is used.
  virtual Result<std::optional<std::string>> RefreshTokenOwner(const std::string& token_hash) = 0;
  // Deletes sessions (and their refresh tokens) of a user; returns how many (the audit
  // entry, when given, is appended even when none was left: the caller asked to end them).
  virtual Result<int> EndSessions(const std::string& user_id, SessionScope scope,
                                  const std::string& session_id, const ChangeAudit& audit) = 0;
};

// One outbox job: "make Vapi match assistant `assistant_id`'s current local state".
struct SyncJob {
  int64_t id = 0;
  std::string assistant_id;
  std::string user_id;
  std::optional<std::string> vapi_id;  // remote id known when the job was (re)queued
  std::string state;                   // queued, running, done, dead
  int attempts = 0;
  int64_t next_attempt_at_us = 0;
  std::optional<int64_t> create_sent_at_us;  // a create of unknown outcome was sent then
  std::optional<std::string> last_error;
  int64_t created_at_us = 0;
  int64_t updated_at_us = 0;
  std::optional<std::string> api_key_sealed;  // a per-request key, until the job completes
  std::optional<int64_t> lease_until_us;      // the claim's lease: Finish checks it is still ours
};

// One call (or decision) made for a job, kept for GET /v1/assistants/{id}/sync.
struct SyncAttempt {
  std::string operation;  // create, update, delete, search, none
  std::string outcome;    // ok, retry, dead
  std::optional<int> status;
  std::optional<std::string> error;
  int64_t started_at_us = 0;
  int64_t finished_at_us = 0;
};

// What the worker concluded; the store applies it to the job and the assistant atomically.
struct SyncOutcome {
  enum class Kind { kSynced, kDeleted, kRetry, kDead };
  Kind kind = Kind::kRetry;
  std::optional<std::string> vapi_id;        // kSynced: the remote id now in use
  int64_t synced_version = 0;                // kSynced: the local version that was sent
  int64_t next_attempt_at_us = 0;            // kRetry
  bool count_attempt = true;                 // kRetry: false when nothing was tried (no key)
  std::optional<int64_t> create_sent_at_us;  // kRetry: ambiguity marker to keep
  std::string error;                         // kRetry, kDead
  std::vector<SyncAttempt> attempts;         // to record
};

// An assistant as reconciliation sees it: whatever its state, and whether a sync job for it
// is still open (such assistants are left to their job).
struct ScannedAssistant {
  domain::Assistant assistant;
  bool open_job = false;
};

struct SyncOverview {
  int64_t queued = 0;
  int64_t running = 0;
  int64_t dead = 0;
  std::optional<int64_t> oldest_queued_at_us;
};

// The outbox as the sync worker and the sync endpoints use it. Jobs are written by
// AssistantStore/UserStore in the same transaction as the change they describe.
class SyncStore {
 public:
  virtual ~SyncStore() = default;
  // Claims the most overdue job (queued and due, or running with an expired lease). A job
  // with no remote id yet is about to be created: its claim durably records that intent, and
  // if the job is claimed again without an outcome recorded in between (a crash), the intent
  // comes back as create_sent_at, so the worker searches Vapi before creating again.
  virtual Result<std::optional<SyncJob>> ClaimDue(int64_t now_us, int64_t lease_us) = 0;
  // Records, before a create is sent, that its outcome may become unknown — for creates the
  // claim did not foresee (the remote copy it knew of turned out to be gone).
  virtual Result<void> MarkCreateSent(int64_t job_id, int64_t at_us) = 0;
  // The assistant as the worker sees it, including rows being deleted.
  virtual Result<std::optional<domain::Assistant>> LoadForSync(const std::string& id) = 0;
  // Records a job's outcome and, given a lease, claims the next due job in the same
  // transaction (a busy worker then writes once per job instead of twice). kConflict
  // (lease_lost), recording nothing, when the job's lease expired and another worker
  // claimed it meanwhile: that worker's outcome is the one that counts.
  virtual Result<std::optional<SyncJob>> Finish(const SyncJob& job, const SyncOutcome& outcome,
                                                int64_t now_us,
                                                std::optional<int64_t> claim_lease_us = {}) = 0;
  // Puts jobs whose worker died back in the queue (start-up of a single-node deployment).
  virtual Result<int> RequeueRunning(int64_t now_us) = 0;

  virtual Result<SyncOverview> Overview() = 0;
  virtual Result<std::optional<SyncJob>> LatestJob(const std::string& assistant_id) = 0;
  virtual Result<std::vector<SyncAttempt>> RecentAttempts(const std::string& assistant_id,
                                                          int limit) = 0;
  virtual Result<std::vector<SyncJob>> DeadJobs(int limit) = 0;
  // Queues a fresh job for a visible assistant inside `scope`; false if not found,
  // `precondition`'s error (checked in the same transaction) if it refused the row.
  virtual Result<bool> Resync(const std::string& assistant_id, const domain::AccessScope& scope,
                              int64_t now_us, const std::optional<std::string>& job_key,
                              const Precondition& precondition = {}) = 0;
  // Makes the queued jobs of `user_id` (of everyone when nullopt) due now; returns how many.
  virtual Result<int> WakeQueued(const std::optional<std::string>& user_id, int64_t now_us) = 0;
  // Moves a dead job back to the queue; false if there is no such dead job.
  virtual Result<bool> RetryDead(int64_t job_id, int64_t now_us) = 0;

  // Every assistant (any owner, any state) with an id after `after_id`, in id order.
  virtual Result<std::vector<ScannedAssistant>> ScanAssistants(const std::string& after_id,
                                                               int limit) = 0;
  virtual Result<std::optional<ScannedAssistant>> ScanAssistant(const std::string& id) = 0;
  // This database's installation id (tagged on every remote copy).
  virtual Result<std::string> InstanceId() = 0;
  // Adopts another database's installation id (import: the remote copies stay ours).
  virtual Result<void> SetInstanceId(const std::string& instance_id) = 0;
  // Records `profile` as the one this database serves unless one is recorded already;
  // returns the recorded one (config/deployment.hpp).
  virtual Result<std::string> ClaimProfile(const std::string& profile) = 0;
};

// A Vapi API key as stored: sealed (encrypted) and the masked tail.
struct StoredKey {
  std::string sealed;
  std::string last4;
  int64_t updated_at_us = 0;
};

inline constexpr const char* kGlobalKeyOwner = "global";

// Stored Vapi API keys, per user (owner = user id) and global (owner = "global").
class KeyStore {
 public:
  virtual ~KeyStore() = default;
  virtual Result<void> PutKey(const std::string& owner, const StoredKey& key,
                              const ChangeAudit& audit) = 0;
  virtual Result<std::optional<StoredKey>> GetKey(const std::string& owner) = 0;
  virtual Result<bool> DeleteKey(const std::string& owner, const ChangeAudit& audit) = 0;
  // Every stored key (owner, key), for export. The table is small: one row per user at most.
  virtual Result<std::vector<std::pair<std::string, StoredKey>>> AllKeys() = 0;

  // Every value sealed with the master key — stored Vapi keys and the keys open sync jobs
  // carry — passed through `reseal` in one transaction: its replacement, nullopt to keep it,
  // or an error that changes nothing. `audit` makes the entry recording the counts.
  struct ResealCounts {
    int stored_keys = 0;  // replaced
    int job_keys = 0;     // replaced
    int unchanged = 0;
  };
  using ResealFn = std::function<Result<std::optional<std::string>>(const std::string& sealed)>;
  virtual Result<ResealCounts> Reseal(
      const ResealFn& reseal, const std::function<ChangeAudit(const ResealCounts&)>& audit) = 0;
};

// Filters of an audit query; entries come newest first, `before_seq` pages backwards.
struct AuditQuery {
  std::optional<std::string> subject_or_actor;  // entries about or by this user
  std::optional<std::string> actor_id;
  std::optional<std::string> action;
  std::optional<std::string> target_id;
  std::optional<int64_t> since_us;
  std::optional<int64_t> until_us;
  std::optional<int64_t> before_seq;
  int limit = 50;
};

// The append-only, hash-chained audit log (C12).
class AuditStore {
 public:
  virtual ~AuditStore() = default;
  // Appends `entry` after the current last one: sets seq, prev_hash and hash (AuditHash)
  // under a lock that serialises appends, so the chain has no forks or gaps. Durable on
  // return. (Changes append their entries in their own transaction instead: see
  // AssistantAudit.)
  virtual Result<domain::AuditEntry> Append(domain::AuditEntry entry) = 0;
  virtual Result<std::vector<domain::AuditEntry>> QueryAudit(const AuditQuery& query) = 0;
  // Entries with seq > after_seq in ascending order, for verification.
  virtual Result<std::vector<domain::AuditEntry>> ScanAudit(int64_t after_seq, int limit) = 0;
  // Entries committed but not yet sealed into the chain (a backend whose writers insert
  // entries in their own transactions and seal them afterwards, in order); 0 elsewhere.
  virtual Result<int64_t> UnsealedCount() { return int64_t{0}; }
};

// Database-wide checks for /readyz and `assistantd migrate`.
// Receives the ids of assistant rows changed by committed transactions, from any writer.
// Called on the feed's thread (SQLite: the committing writer's, right after its commit;
// PostgreSQL: the listener's), so it should be quick.
class AssistantChangeSink {
 public:
  virtual ~AssistantChangeSink() = default;
  virtual void Changed(std::string_view assistant_id) = 0;
  // Anything may have changed: too many rows for one notice, or notices may have been lost.
  virtual void ChangedAll() = 0;
};

// The database's feed of committed changes to assistant rows (inserts, updates, deletes,
// cascades), whoever made them, which lets a cache of rows stay coherent.
class AssistantChangeFeed {
 public:
  virtual ~AssistantChangeFeed() = default;
  // Starts delivering to `sink` (once, before serving). Everything committed before the
  // start is the sink's to read fresh; every later commit reaches it.
  virtual Result<void> Start(AssistantChangeSink& sink) = 0;
  // Calls `ready(true)` once every change committed before this call has reached the sink,
  // so what the sink holds is current as of the call; `ready(false)` when the feed cannot
  // promise that now (it lost its connection: read the database). May call `ready` before
  // returning, on the calling thread, when it knows at once.
  virtual void AwaitCurrent(std::function<void(bool current)> ready) = 0;
};

class Database {
 public:
  virtual ~Database() = default;
  // The feed of assistant changes, if this backend has one.
  virtual AssistantChangeFeed* ChangeFeed() { return nullptr; }
  // Applies pending migrations; returns how many were applied.
  virtual Result<int> Migrate() = 0;
  // kUnavailable unless the database answers and every known migration is applied.
  virtual Result<void> CheckReady() = 0;
  virtual int LatestSchemaVersion() const = 0;
  // The version of the last migration applied to this database (it may be newer than the
  // binary's LatestSchemaVersion when a newer release migrated it).
  virtual Result<int> AppliedSchemaVersion() = 0;
  // The migrations this binary carries, and those recorded in the database (without applying
  // anything, nor creating the bookkeeping table).
  virtual std::span<const Migration> KnownMigrations() const = 0;
  virtual Result<std::vector<AppliedMigration>> AppliedMigrations() = 0;
  Result<SchemaStatus> Schema() {
    auto applied = AppliedMigrations();
    if (!applied) return tl::unexpected(applied.error());
    return CompareSchema(KnownMigrations(), *applied);
  }
  // A consistent copy of the whole database in one new file at `path`, taken while writes go
  // on (backups). kUnsupported on a backend without one (PostgreSQL: docs/operations.md).
  virtual Result<void> Snapshot(const std::string& path) {
    return Fail(ErrorCode::kNotImplemented, "backup_unsupported",
                "this backend is backed up with its own tools (docs/operations.md), not " + path);
  }
  // Completes the writes already submitted and refuses later ones (shutdown).
  virtual void StopWrites() {}
};

}  // namespace assistantd::storage
