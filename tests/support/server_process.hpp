#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace assistantd::testing {

// API keys in Supabase's format for servers started with --publishable-key / --secret-key.
inline constexpr const char* kTestPublishableKey =
    "sb_publishable_AsSiStAnTdTeStKeY000001_x1y2z3w4";
inline constexpr const char* kTestSecretKey = "sb_secret_AsSiStAnTdTeStKeY000002_a1b2c3d4";

// A fresh temporary directory, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a program to completion with extra environment variables.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {});

// The real `build/assistantd serve` on 127.0.0.1:0 with its own data dir. Start() waits for
// the "listening" log line (a readiness signal, not a sleep).
class ServerProcess {
 public:
  struct Options {
    std::vector<std::string> args = {};  // extra serve flags
    std::map<std::string, std::string> env = {};
    std::string data_dir = {};  // empty: a new temp dir owned by the process object
    // Overrides the suite's backend (DatabaseArgs) with this --database-url.
    std::optional<std::string> database_url = {};
    // Runs the server under this RLIMIT_NOFILE (soft and hard), through prlimit(1).
    std::optional<int> max_open_files = {};
  };

  static std::unique_ptr<ServerProcess> Start(Options options);
  // build/vapi-sim on 127.0.0.1:0 with extra flags.
  static std::unique_ptr<ServerProcess> StartVapiSim(std::vector<std::string> args = {});
  ~ServerProcess();

  uint16_t port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }

  // A token from `assistantd token` for this server's configuration.
  std::string Token(const std::string& sub, const std::string& role = "user",
                    const std::string& ttl = "1h") const;

  // Changes the running server's limit on the size of files it writes (RLIMIT_FSIZE, through
  // prlimit(1)); nullopt: unlimited. A disk that fills up, as far as the server can tell.
  void LimitFileSize(std::optional<long> bytes);
  // The server's resident memory (VmRSS), in KiB.
  size_t ResidentKib() const;
  // Sends `signal` and waits for exit; returns the exit code (or 128 + signal).
  int Stop(int signal_number = 15);
  // Everything the server wrote to stderr so far.
  std::string Logs() const;
  // Waits until the server's stderr contains `text` (woken by the reader as output arrives);
  // false if it has not after 30 s or the server exited.
  bool WaitForLog(const std::string& text);

 private:
  ServerProcess() = default;
  // Spawns argv and waits for its "listening" log line.
  static void Launch(ServerProcess& p, const std::vector<std::string>& argv);
  void DrainStderr(int fd);

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string data_dir_;
  std::unique_ptr<TempDir> owned_dir_;
  std::vector<std::string> base_args_;
  std::map<std::string, std::string> env_;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string logs_;
  bool eof_ = false;
};

// Which backend the suite runs on: PostgreSQL when ASSISTANTD_TEST_BACKEND=postgres (ctest
// registers the integration suites a second time that way), else SQLite.
bool TestingPostgres();

// The storage flags of a server whose data lives in `data_dir`: none on SQLite (the default
// file inside the data dir); on PostgreSQL, --database-url of a database of its own on the
// cluster ASSISTANTD_TEST_PG_URL names, created on first use (a restart finds the same data).
std::vector<std::string> DatabaseArgs(const std::string& data_dir);
// The URL of that PostgreSQL database (created on first use), whatever the suite's backend:
// for several instances sharing one database, which only PostgreSQL supports.
std::string PostgresDatabaseUrl(const std::string& data_dir);

// Runs SQL directly on the database of the server with this data dir (sqlite3, or psql on the
// suite's PostgreSQL database), as an operator or an intruder with database access would.
CommandResult RunSql(const std::string& data_dir, const std::string& sql);

// The paths of the built binaries.
std::string AssistantdBinary();
std::string VapiSimBinary();

}  // namespace assistantd::testing
