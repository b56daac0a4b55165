#include "support/server_process.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>

namespace assistantd::testing {
namespace {

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  return out;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            int out_fd, int err_fd) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

int WaitExit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string AssistantdBinary() { return ASSISTANTD_BINARY; }
std::string VapiSimBinary() { return VAPI_SIM_BINARY; }

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "assistantd-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env) {
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const pid_t pid = Spawn(argv, env, out_pipe[1], err_pipe[1]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  CommandResult r;
  std::thread err_reader([&] { r.err = ReadAll(err_pipe[0]); });
  r.out = ReadAll(out_pipe[0]);
  err_reader.join();
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  r.exit_code = WaitExit(pid);
  return r;
}

bool TestingPostgres() {
  const char* backend = std::getenv("ASSISTANTD_TEST_BACKEND");
  return backend && std::string_view(backend) == "postgres";
}

std::vector<std::string> DatabaseArgs(const std::string& data_dir) {
  if (!TestingPostgres()) return {};
  return {"--database-url", PostgresDatabaseUrl(data_dir)};
}

std::string PostgresDatabaseUrl(const std::string& data_dir) {
  const char* admin = std::getenv("ASSISTANTD_TEST_PG_URL");
  if (!admin || !*admin) {
    throw std::runtime_error(
        "ASSISTANTD_TEST_PG_URL is not set: run `make test`, which starts "
        "a PostgreSQL test cluster");
  }
  uint64_t hash = 1469598103934665603ULL;  // FNV-1a of the data dir: one database per dir
  for (const unsigned char c : data_dir) hash = (hash ^ c) * 1099511628211ULL;
  char name[32];
  std::snprintf(name, sizeof name, "it_%016llx", static_cast<unsigned long long>(hash));
  PGconn* conn = PQconnectdb(admin);
  // From template0, which nobody connects to: concurrent CREATE DATABASE from template1 fails
  // while another session is copying it.
  PGresult* r =
      PQexec(conn, (std::string("CREATE DATABASE ") + name + " TEMPLATE template0").c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  const bool exists = state && std::string_view(state) == "42P04";
  const std::string error = PQerrorMessage(conn);
  PQclear(r);
  PQfinish(conn);
  if (!ok && !exists) throw std::runtime_error("cannot create test database: " + error);
  const std::string url(admin);
  return url.substr(0, url.rfind('/') + 1) + name;
}

CommandResult RunSql(const std::string& data_dir, const std::string& sql) {
  const auto db = DatabaseArgs(data_dir);
  return db.empty() ? RunCommand({"/usr/bin/sqlite3", data_dir + "/assistantd.db", sql})
                    : RunCommand({"/usr/bin/psql", "-XAtq", db[1], "-c", sql});
}

std::unique_ptr<ServerProcess> ServerProcess::Start(Options options) {
  std::unique_ptr<ServerProcess> p(new ServerProcess());
  if (options.data_dir.empty()) {
    p->owned_dir_ = std::make_unique<TempDir>();
    p->data_dir_ = p->owned_dir_->path();
  } else {
    p->data_dir_ = options.data_dir;
  }
  p->env_ = options.env;
  p->base_args_ = {"--data-dir", p->data_dir_};
  std::vector<std::string> argv = {AssistantdBinary(), "serve",      "--listen",
                                   "127.0.0.1:0",      "--data-dir", p->data_dir_};
  const auto database = options.database_url
                            ? std::vector<std::string>{"--database-url", *options.database_url}
                            : DatabaseArgs(p->data_dir_);
  argv.insert(argv.end(), database.begin(), database.end());
  argv.insert(argv.end(), options.args.begin(), options.args.end());
  if (options.max_open_files) {
    const std::string n = std::to_string(*options.max_open_files);
    argv.insert(argv.begin(), {"/usr/bin/prlimit", "--nofile=" + n + ":" + n, "--"});
  }
  Launch(*p, argv);
  return p;
}

size_t ServerProcess::ResidentKib() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stoul(line.substr(6));
  }
  return 0;
}

void ServerProcess::LimitFileSize(std::optional<long> bytes) {
  const std::string limit = bytes ? std::to_string(*bytes) : "unlimited";
  const auto r = RunCommand({"/usr/bin/prlimit", "--pid", std::to_string(pid_),
                             "--fsize=" + limit + ":unlimited"});  // the soft limit only
  if (r.exit_code != 0) throw std::runtime_error("prlimit failed: " + r.err);
}

std::unique_ptr<ServerProcess> ServerProcess::StartVapiSim(std::vector<std::string> args) {
  std::unique_ptr<ServerProcess> p(new ServerProcess());
  std::vector<std::string> argv = {VapiSimBinary(), "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  Launch(*p, argv);
  return p;
}

void ServerProcess::Launch(ServerProcess& p, const std::vector<std::string>& argv) {
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  p.pid_ = Spawn(argv, p.env_, devnull, err_pipe[1]);
  ::close(devnull);
  ::close(err_pipe[1]);
  p.reader_ = std::thread([raw = &p, fd = err_pipe[0]] { raw->DrainStderr(fd); });

  static const std::regex kListening(R"re("address":"127\.0\.0\.1:(\d+)")re");
  std::unique_lock lock(p.mu_);
  std::smatch m;
  // Bounded wait for the readiness line; a server that never gets there fails the test.
  p.cv_.wait_for(lock, std::chrono::seconds(30),
                 [&] { return p.eof_ || std::regex_search(p.logs_, m, kListening); });
  if (!std::regex_search(p.logs_, m, kListening)) {
    const std::string logs = p.logs_;
    lock.unlock();
    throw std::runtime_error(argv[0] + " did not start:\n" + logs);
  }
  p.port_ = static_cast<uint16_t>(std::stoi(m[1].str()));
}

void ServerProcess::DrainStderr(int fd) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lock(mu_);
    if (n <= 0) {
      eof_ = true;
      cv_.notify_all();
      break;
    }
    logs_.append(buf, static_cast<size_t>(n));
    cv_.notify_all();
  }
  ::close(fd);
}

std::string ServerProcess::Token(const std::string& sub, const std::string& role,
                                 const std::string& ttl) const {
  std::vector<std::string> argv = {AssistantdBinary(), "token", "--role", role, "--ttl", ttl};
  argv.insert(argv.end(), base_args_.begin(), base_args_.end());
  if (!sub.empty()) {
    argv.push_back("--sub");
    argv.push_back(sub);
  }
  const auto r = RunCommand(argv, env_);
  if (r.exit_code != 0) throw std::runtime_error("assistantd token failed: " + r.err);
  std::string token = r.out;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  return token;
}

int ServerProcess::Stop(int signal_number) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal_number);
  const int code = WaitExit(pid_);
  pid_ = -1;
  if (reader_.joinable()) reader_.join();
  return code;
}

bool ServerProcess::WaitForLog(const std::string& text) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::seconds(30), [&] {
    return eof_ || logs_.find(text) != std::string::npos;
  }) && logs_.find(text) != std::string::npos;
}

std::string ServerProcess::Logs() const {
  std::lock_guard lock(mu_);
  return logs_;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    // Graceful, like an operator's stop (and it lets a coverage build write its data). The
    // server bounds its own drain with --shutdown-timeout.
    ::kill(pid_, SIGTERM);
    WaitExit(pid_);
  }
  if (reader_.joinable()) reader_.join();
}

}  // namespace assistantd::testing
