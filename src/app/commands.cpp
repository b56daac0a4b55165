#include "app/commands.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>

#include "api/user_admin.hpp"
#include "app/backup.hpp"
#include "app/key_setup.hpp"
#include "app/service.hpp"
#include "app/transfer.hpp"
#include "app/wiring.hpp"
#include "audit/audit_log.hpp"
#include "auth/jwt.hpp"
#include "auth/secret_box.hpp"
#include "common/clock.hpp"
#include "common/encoding.hpp"
#include "common/uuid.hpp"
#include "config/deployment.hpp"
#include "domain/principal.hpp"
#include "http/server.hpp"
#include "storage/sqlite/sqlite_database.hpp"

namespace assistantd::app {

int Die(const std::string& message) {
  std::fprintf(stderr, "assistantd: %s\n", message.c_str());
  return 1;
}

int Die(const Error& e) {
  std::string line = e.message;
  if (!e.internal.empty()) line += " (" + e.internal + ")";
  return Die(line);
}

namespace {

// Raises the open-files limit to its hard maximum (each connection is a descriptor) and gives
// the connection limit: --max-connections, or 3/4 of the descriptors (the rest for the
// database, files and pipes).
size_t ConnectionLimit(const config::ServeConfig& c, const Logger& log) {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    rlimit raised = files;
    raised.rlim_cur = files.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) files = raised;
  }
  const size_t descriptors = files.rlim_cur == RLIM_INFINITY ? 1'000'000 : files.rlim_cur;
  const size_t automatic = std::max<size_t>(16, descriptors * 3 / 4);
  if (c.max_connections == 0) return automatic;
  const auto wanted = static_cast<size_t>(c.max_connections);
  if (wanted > descriptors) {
    LogEvent(log, spdlog::level::warn,
             "--max-connections is above the open-files limit: accepts will fail before it is "
             "reached",
             {{"maxConnections", wanted}, {"openFilesLimit", descriptors}});
  }
  return wanted;
}

}  // namespace

int RunServe(const config::ServeConfig& c) {
  auto service = Service::Make(c, {});
  if (!service) return Die(service.error());
  const Logger log = (*service)->Logs().Make("app");
  http::ServerSettings settings = (*service)->ServerSettings();
  settings.max_connections = ConnectionLimit(c, log);
  http::Server server(settings, (*service)->Handler(), (*service)->Logs().Make("http"),
                      &(*service)->HandlerPool());
  server.OnShutdown([&service] { (*service)->BeginShutdown(); });
  auto port = server.Listen();
  if (!port) return Die(port.error());
  (*service)->Start(*port, settings.max_connections);
  const bool clean = server.Run();
  (*service)->Stop();
  LogEvent(log, spdlog::level::info, "stopped", {{"clean", clean}});
  return 0;
}

int RunReconcile(const config::ServeConfig& c, const ReconcileOptions& o) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  LogFactory logs(c.log_level);
  const Logger log = logs.Make("app");
  auto master_keys = config::ResolveMasterKeys(c, log);
  if (!master_keys) return Die(master_keys.error());
  const auth::SecretBox box(std::move(master_keys->current), std::move(master_keys->accepted));
  auto store = OpenStorage(c, 2, logs, {.writes_assistants = !o.dry_run});
  if (!store) return Die(store.error());
  SystemClock clock;
  MetricsRegistry metrics;
  auto stack = SyncStack::Make(c, *store, box, clock, logs, metrics);
  if (!stack) return Die(stack.error());
  auto summary = (*stack)->reconciler.Run({o.dry_run, o.repair_drift});
  if (!summary) return Die(summary.error());
  if (!o.dry_run) {
    // Run the jobs just queued (and any other due job) now, with the same engine as serve;
    // jobs that must wait for a retry are left to serve's workers.
    int64_t ran = 0;
    while ((*stack)->worker.RunOnce()) ++ran;
    auto overview = store->sync->Overview();
    if (!overview) return Die(overview.error());
    (*summary)["jobsRun"] = ran;
    (*summary)["jobsLeftQueued"] = overview->queued + overview->running;
  }
  std::printf("%s\n", summary->dump(2).c_str());
  return (*summary)["complete"].get<bool>() ? 0 : 2;
}

int RunExport(const config::ServeConfig& c, const std::string& output) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  LogFactory logs(c.log_level);
  auto store = OpenStorage(c, 2, logs);
  if (!store) return Die(store.error());
  SystemClock clock;
  Result<nlohmann::json> counts;
  if (output == "-") {
    counts = ExportAll(*store->users, *store->keys, *store->sync, clock, std::cout);
  } else {
    // Written next to its final name and renamed, so a failed export leaves no partial file.
    const std::string partial = output + ".partial";
    // Private from the start: an export holds password hashes and sealed keys.
    std::filesystem::remove(partial);
    if (const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        fd >= 0) {
      ::close(fd);
    }
    std::ofstream out(partial, std::ios::trunc);
    if (!out) return Die("cannot write " + partial);
    counts = ExportAll(*store->users, *store->keys, *store->sync, clock, out);
    out.close();
    std::error_code ec;
    if (counts) std::filesystem::rename(partial, output, ec);
    if (!counts || ec) std::filesystem::remove(partial, ec);
  }
  if (!counts) return Die(counts.error());
  std::fprintf(stderr, "assistantd: exported %s\n", counts->dump().c_str());
  return 0;
}

int RunImport(const config::ServeConfig& c, const std::string& input) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  LogFactory logs(c.log_level);
  auto store = OpenStorage(c, 2, logs);
  if (!store) return Die(store.error());
  auto counts = ImportAll(input, *store->users, *store->assistants, *store->keys, *store->sync);
  if (!counts) return Die(counts.error());
  std::fprintf(stderr, "assistantd: imported %s into %s\n", counts->dump().c_str(),
               store->description.c_str());
  return 0;
}

int RunBackup(const config::ServeConfig& c, const std::string& output) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  if (auto target = config::ResolveDatabase(c); target->postgres) {
    return Die(
        "assistantd backup covers SQLite; back PostgreSQL up with pg_dump as the backup role "
        "or with continuous archiving (docs/operations.md, Backups)");
  }
  LogFactory logs(c.log_level);
  // Not the writer: a backup reads while serve goes on writing.
  auto store = OpenStorage(c, 1, logs);
  if (!store) return Die(store.error());
  SystemClock clock;
  Result<nlohmann::json> done;
  if (output.empty()) {
    // The same naming as scheduled backups; pruning is left to serve's --backup-keep.
    MetricsRegistry metrics;
    BackupScheduler scheduler({config::BackupDir(c), 0, 10000}, *store->db, clock,
                              logs.Make("backup"), metrics);
    done = scheduler.RunOnce();
  } else {
    done = WriteBackup(*store->db, output, clock);
    if (done) done = nlohmann::json{{"file", output}, {"manifest", *done}};
  }
  if (!done) return Die(done.error());
  if (output != "-") std::printf("%s\n", done->dump(2).c_str());
  return 0;
}

int RunRestore(const config::ServeConfig& c, const std::string& file, bool check_only) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  auto path = config::SqlitePath(c);
  if (!path) {
    return Die(
        "assistantd restore covers SQLite; restore PostgreSQL with its own tools "
        "(docs/operations.md, Backups)");
  }
  LogFactory logs(c.log_level);
  SystemClock clock;
  auto restored = RestoreSqliteBackup(file, *path, storage::SqliteDatabase::KnownSchemaVersion(),
                                      clock, !check_only);
  if (!restored) return Die(restored.error());
  std::printf("%s\n", restored->dump(2).c_str());
  return 0;
}

int RunMigrate(const config::ServeConfig& c, bool status_only) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  LogFactory logs(c.log_level);
  auto store = OpenStorage(c, 1, logs, {.migrate = !status_only});
  if (!store) return Die(store.error());
  auto schema = store->db->Schema();
  if (!schema) return Die(schema.error());
  if (!status_only) {
    std::printf("database %s is at schema version %d\n", store->description.c_str(),
                schema->applied);
    return 0;
  }
  auto out = storage::ToJson(*schema);
  out["database"] = store->description;
  std::printf("%s\n", out.dump(2).c_str());
  // For deploy scripts: 0 this release runs on it as it is, 2 `migrate` has work to do,
  // 1 a newer release changed it beyond what this one reads.
  if (!schema->compatible()) return 1;
  return schema->up_to_date() ? 0 : 2;
}

int RunToken(const config::ServeConfig& c, const TokenOptions& o) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  if (o.role != "anon" && !domain::ParseRole(o.role)) {
    return Die("--role must be user, authenticated, premium, test, admin or service_role");
  }
  std::optional<std::string> sub;
  if (o.sub) {
    sub = NormalizeUuid(*o.sub);
    if (!sub) return Die("--sub must be a UUID");
  } else if (o.role != "service_role") {
    return Die("--sub is required (except for --role service_role)");
  }
  auto ttl = config::ParseDuration(o.ttl);
  if (!ttl) return Die(ttl.error());
  LogFactory logs(c.log_level == "info" ? "warn" : c.log_level);
  auto secret = config::ResolveJwtSecret(c, logs.Make("app"));
  if (!secret) return Die(secret.error());
  SystemClock clock;
  MetricsRegistry metrics;
  auto keys = KeySetup::Make(c, std::move(*secret), clock, logs, metrics, /*watch=*/false);
  if (!keys) return Die(keys.error());
  std::printf("%s\n", (*keys)
                          ->signing
                          ->SignJwt(auth::MakeClaims((*keys)->settings, sub, o.role, o.email,
                                                     clock.NowSeconds(), *ttl))
                          .c_str());
  return 0;
}

namespace {

// Finds the account, applies `change` and writes it back (an audit entry records the change,
// made by the operator's command line).
int ChangeAccount(const config::ServeConfig& c, const UserOptions& o, const std::string& action,
                  const std::function<void(domain::User&)>& change) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  LogFactory logs(c.log_level);
  auto store = OpenStorage(c, 1, logs);
  if (!store) return Die(store.error());
  auto email = domain::NormalizeEmail(nlohmann::json(o.email));
  if (!email) return Die(email.error());
  auto found = store->users->FindAccountByEmail(*email);
  if (!found) return Die(found.error());
  if (!*found) return Die("no account has the e-mail " + *email);
  SystemClock clock;
  MetricsRegistry metrics;
  const domain::User before = **found;
  domain::User user = before;
  change(user);
  user.updated_at_us = clock.NowMicros();
  audit::AuditLog audit_log(clock, metrics);
  auto updated = store->users->UpdateUser(
      user, audit_log.Entry({std::nullopt, "operator", "cli-" + NewUuid(), "local"},
                            {action, "user", user.id, user.id, api::AdminUserJson(before),
                             api::AdminUserJson(user)}));
  if (!updated) return Die(updated.error());
  std::printf("%s\n", api::AdminUserJson(user).dump().c_str());
  return 0;
}

}  // namespace

int RunUserConfirm(const config::ServeConfig& c, const UserOptions& o) {
  return ChangeAccount(c, o, "user.confirm", [&](domain::User& u) {
    if (!u.email_confirmed_at_us) u.email_confirmed_at_us = SystemClock().NowMicros();
  });
}

int RunUserSetRole(const config::ServeConfig& c, const UserOptions& o) {
  const auto role = domain::ParseRole(o.role);
  if (!role || *role == domain::Role::kServiceRole) {
    return Die("--role must be user, premium, test or admin");
  }
  return ChangeAccount(c, o, "user.role_change", [&](domain::User& u) { u.role = *role; });
}

int RunAuditVerify(const config::ServeConfig& c) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  LogFactory logs(c.log_level);
  auto store = OpenStorage(c, 1, logs);
  if (!store) return Die(store.error());
  auto report = audit::VerifyChain(*store->audit);
  if (!report) return Die(report.error());
  // Entries committed but not sealed yet (PostgreSQL, between a change and the sealer): not
  // part of the chain checked here; a running server seals them within a second.
  auto unsealed = store->audit->UnsealedCount();
  if (!unsealed) return Die(unsealed.error());
  nlohmann::json out = {{"ok", report->ok}, {"entries", report->entries}, {"unsealed", *unsealed}};
  if (report->ok) {
    out["headHash"] = report->head_hash;
  } else {
    out["firstBadSeq"] = report->first_bad_seq;
    out["problem"] = report->problem;
  }
  std::printf("%s\n", out.dump().c_str());
  return report->ok ? 0 : 2;
}

int RunReseal(const config::ServeConfig& c, bool rotate) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  if (rotate && !c.master_key.empty()) {
    return Die(
        "the master key comes from --master-key or ASSISTANTD_MASTER_KEY: set the new key "
        "there with the old one in --accepted-master-key, restart every instance, then "
        "run `assistantd keys reseal` (docs/operations.md, Rotating secrets)");
  }
  LogFactory logs(c.log_level);
  const Logger log = logs.Make("app");
  auto keys = config::ResolveMasterKeys(c, log);
  if (!keys) return Die(keys.error());
  // Rotating on SQLite needs serve stopped: it holds the old key only.
  auto store = OpenStorage(c, 1, logs, {.writes_assistants = rotate});
  if (!store) return Die(store.error());
  SystemClock clock;
  MetricsRegistry metrics;
  audit::AuditLog audit_log(clock, metrics);
  const audit::Actor operator_actor{std::nullopt, "operator", "cli-" + NewUuid(), "local"};

  // kReseal: re-seal what is not under the box's key; the checks change nothing and fail on
  // a value not under the box's key (kCurrentOnly) or opening with none of its keys (kOpens).
  enum class Pass { kCurrentOnly, kOpens, kReseal };
  const auto reseal_with = [&](const auth::SecretBox& box, const std::string& action,
                               Pass pass) -> Result<storage::KeyStore::ResealCounts> {
    return store->keys->Reseal(
        [&](const std::string& sealed) -> Result<std::optional<std::string>> {
          if (box.SealedWithCurrentKey(sealed)) return std::optional<std::string>();
          if (pass != Pass::kCurrentOnly) {
            if (auto opened = box.Open(sealed)) {
              return pass == Pass::kReseal ? std::optional<std::string>(box.Seal(*opened))
                                           : std::optional<std::string>();
            }
          }
          return Fail(ErrorCode::kConflict, "unopenable_secret",
                      pass == Pass::kCurrentOnly
                          ? "a stored secret is not sealed under the current master key yet: "
                            "run `assistantd keys reseal` to finish the last rotation"
                          : "a stored secret opens with none of the master keys given: add the "
                            "key it was sealed with as --accepted-master-key (nothing changed)");
        },
        [&](const storage::KeyStore::ResealCounts& n) -> storage::ChangeAudit {
          if (pass != Pass::kReseal) return std::nullopt;
          return audit_log.Entry(
              operator_actor,
              {action,
               "master_key",
               std::nullopt,
               std::nullopt,
               nullptr,
               {{"stored", n.stored_keys}, {"jobs", n.job_keys}, {"unchanged", n.unchanged}}});
        });
  };

  nlohmann::json out = {{"masterKey", rotate ? "rotated" : "unchanged"}};
  Result<storage::KeyStore::ResealCounts> counts;
  if (rotate) {
    const auto dir = std::filesystem::path(c.data_dir);
    const auto current_file = (dir / "master-key").string();
    const auto previous_file = (dir / config::kPreviousMasterKeyFile).string();
    // Nothing changes unless every value opens now, and, since master-key.previous is
    // replaced, none still needs the key it holds.
    const auth::SecretBox before(keys->current, keys->accepted);
    const bool previous = std::filesystem::exists(previous_file);
    if (auto ok = reseal_with(before, "", previous ? Pass::kCurrentOnly : Pass::kOpens); !ok) {
      return Die(ok.error());
    }
    const std::string next = RandomBytes(auth::kSecretBoxKeyBytes);
    // Old key kept first, then the new one in force: a crash between here and the reseal
    // leaves a data dir whose serve opens values under either.
    if (auto w = config::WriteSecretFile(previous_file, HexEncode(keys->current)); !w) {
      return Die(w.error());
    }
    if (auto w = config::WriteSecretFile(current_file, HexEncode(next)); !w) return Die(w.error());
    std::vector<std::string> accepted = keys->accepted;
    accepted.push_back(keys->current);
    const auth::SecretBox box(next, std::move(accepted));
    counts = reseal_with(box, "master_key.rotate", Pass::kReseal);
    out["previousKeyFile"] = previous_file;
  } else {
    const auth::SecretBox box(keys->current, keys->accepted);
    counts = reseal_with(box, "master_key.reseal", Pass::kReseal);
  }
  if (!counts) return Die(counts.error());
  audit_log.Appended();
  out["resealed"] = {{"stored", counts->stored_keys}, {"jobs", counts->job_keys}};
  out["unchanged"] = counts->unchanged;
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

int RunCheckConfig(const config::ServeConfig& c) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  auto profile = config::ParseProfile(c.profile);
  if (!profile) return Die(profile.error());
  const bool assumed = *profile == config::Profile::kNone;
  if (assumed) *profile = config::Profile::kProduction;
  const auto findings = config::CheckDeployment(c, *profile);
  int errors = 0;
  for (const auto& f : findings) {
    const bool error = f.error && *profile == config::Profile::kProduction;
    errors += error ? 1 : 0;
    std::printf("%-7s %-22s %s\n", error ? "error" : "warning", f.code.c_str(), f.message.c_str());
  }
  std::printf("check-config: %s%s: %d error(s), %zu warning(s)%s\n", config::ToString(*profile),
              assumed ? " (no --profile given)" : "", errors,
              findings.size() - static_cast<size_t>(errors),
              errors > 0 ? "; serve --profile production refuses to start" : "");
  return errors > 0 ? 1 : 0;
}

}  // namespace assistantd::app
