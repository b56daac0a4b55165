#include "config/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>
#include <tuple>

#include "auth/jwks_source.hpp"
#include "auth/jwt.hpp"
#include "auth/key_ring.hpp"
#include "common/encoding.hpp"
#include "config/deployment.hpp"

namespace assistantd::config {
namespace {

tl::unexpected<Error> ConfigError(std::string message) {
  return Fail(ErrorCode::kInvalidInput, "invalid_config", std::move(message));
}

std::string Trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

}  // namespace

int DefaultThreads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

Result<ListenAddress> ParseListen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return ConfigError("--listen must be HOST:PORT, got \"" + text + "\"");
  }
  ListenAddress out;
  out.host = text.substr(0, colon);
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  if (out.host == "localhost") out.host = "127.0.0.1";
  const std::string port = text.substr(colon + 1);
  int value = -1;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || ptr != port.data() + port.size() || value < 0 || value > 65535) {
    return ConfigError("--listen port must be 0-65535, got \"" + port + "\"");
  }
  out.port = static_cast<uint16_t>(value);
  return out;
}

Result<void> Validate(const ServeConfig& c) {
  if (auto l = ParseListen(c.listen); !l) return tl::unexpected(l.error());
  if (auto p = ParseProfile(c.profile); !p) return tl::unexpected(p.error());
  if (!IsValidLogLevel(c.log_level)) {
    return ConfigError("--log-level must be trace, debug, info, warn, error, critical or off");
  }
  if (!auth::ParseJwsAlgorithm(c.jwt_algorithm)) {
    return ConfigError("--jwt-algorithm must be HS256, HS384, HS512, ES256, RS256 or EdDSA");
  }
  for (const auto& name : SplitList(c.jwt_algorithms)) {
    if (!auth::ParseJwsAlgorithm(name)) {
      return ConfigError("--jwt-algorithms: unknown algorithm \"" + name +
                         "\" (HS256, HS384, HS512, ES256, RS256, EdDSA)");
    }
  }
  if (!c.jwks_url.empty()) {
    if (auto u = auth::CheckJwksUrl(c.jwks_url); !u) return tl::unexpected(u.error());
  }
  if (auto i = ParseInterval(c.jwks_refresh_interval); !i) {
    return ConfigError("--jwks-refresh-interval must look like 30s, 5m or 0");
  }
  if (auto t = ParseDuration(c.jwks_timeout); !t || *t > 60) {
    return ConfigError("--jwks-timeout must be 1s to 60s");
  }
  if (!c.public_url.empty() && !c.public_url.starts_with("http://") &&
      !c.public_url.starts_with("https://")) {
    return ConfigError("--public-url must be an http:// or https:// URL");
  }
  for (const auto& [keys, type, flag] :
       {std::tuple{&c.publishable_keys, auth::ApiKeyType::kPublishable, "--publishable-key"},
        std::tuple{&c.secret_keys, auth::ApiKeyType::kSecret, "--secret-key"}}) {
    for (const auto& k : *keys) {
      if (auth::ApiKeyTypeOf(k) != type || k.size() < 24 || k.size() > 256) {
        return ConfigError(std::string(flag) + " values must start with " +
                           (type == auth::ApiKeyType::kSecret ? "sb_secret_" : "sb_publishable_") +
                           " and be 24 to 256 characters long");
      }
    }
  }
  if (!c.jwt_secret.empty() && c.jwt_secret.size() < auth::kMinSecretBytes) {
    return ConfigError("the JWT secret must be at least 32 bytes (got " +
                       std::to_string(c.jwt_secret.size()) + ")");
  }
  for (const auto& s : c.jwt_accepted_secrets) {
    if (s.size() < auth::kMinSecretBytes) {
      return ConfigError("each --jwt-accepted-secret must be at least 32 bytes (got " +
                         std::to_string(s.size()) + ")");
    }
  }
  if (c.threads < 0 || c.threads > 256) return ConfigError("--threads must be 0-256");
  if (c.worker_threads < 0 || c.worker_threads > 1024) {
    return ConfigError("--worker-threads must be 0-1024");
  }
  if (c.max_body_bytes < 1024 || c.max_body_bytes > (size_t{64} << 20)) {
    return ConfigError("--max-body-bytes must be between 1024 and 67108864");
  }
  if (c.shutdown_timeout_seconds < 1 || c.shutdown_timeout_seconds > 600) {
    return ConfigError("--shutdown-timeout must be 1-600 seconds");
  }
  if (c.max_connections < 0 || c.max_connections > 10'000'000) {
    return ConfigError("--max-connections must be 0-10000000 (0: automatic)");
  }
  if (c.max_connections_per_ip < 0 || c.max_connections_per_ip > 10'000'000) {
    return ConfigError("--max-connections-per-ip must be 0-10000000 (0: no limit)");
  }
  if (c.max_waits < 0 || c.max_waits > 100000) return ConfigError("--max-waits must be 0-100000");
  if (c.max_waits_per_user < 0 || c.max_waits_per_user > c.max_waits) {
    return ConfigError("--max-waits-per-user must be 0 to --max-waits");
  }
  if (c.sync_workers < 0 || c.sync_workers > 64) return ConfigError("--sync-workers must be 0-64");
  if (c.database_pool_size < 0 || c.database_pool_size > 1000) {
    return ConfigError("--database-pool-size must be 0-1000 (0: automatic)");
  }
  if (c.sync_max_attempts < 1 || c.sync_max_attempts > 100) {
    return ConfigError("--sync-max-attempts must be 1-100");
  }
  if (c.sync_backoff_base_ms < 1 || c.sync_backoff_cap_ms < c.sync_backoff_base_ms ||
      c.sync_backoff_cap_ms > 3600000) {
    return ConfigError("--sync-backoff-base-ms must be >= 1 and <= --sync-backoff-cap-ms (<= 1 h)");
  }
  if (c.breaker_threshold < 1 || c.breaker_threshold > 1000 || c.breaker_open_ms < 1 ||
      c.breaker_open_ms > 3600000) {
    return ConfigError("--breaker-threshold must be 1-1000 and --breaker-open-ms 1-3600000");
  }
  if (!c.vapi_base_url.starts_with("https://") && !c.vapi_base_url.starts_with("http://")) {
    return ConfigError("--vapi-base-url must be an http(s) URL");
  }
  if (auto ttl = ParseDuration(c.access_token_ttl);
      !ttl || *ttl < 60 || *ttl > int64_t{7} * 86400) {
    return ConfigError("--access-token-ttl must be between 1m and 7d");
  }
  if (c.refresh_reuse_interval_seconds < 0 || c.refresh_reuse_interval_seconds > 3600) {
    return ConfigError("--refresh-reuse-interval must be 0-3600 seconds");
  }
  if (c.password_min_length < 6 || c.password_max_length < c.password_min_length ||
      c.password_max_length > 4096) {
    return ConfigError(
        "--password-min-length must be at least 6 and at most --password-max-length (<= 4096)");
  }
  for (const int q : {c.max_assistants_user, c.max_assistants_test, c.max_assistants_premium,
                      c.max_assistants_admin}) {
    if (q < 0) return ConfigError("--max-assistants-* must be 0 (unlimited) or more");
  }
  if (!c.redis_url.empty() && !c.redis_url.starts_with("redis://")) {
    return ConfigError("--redis-url must be a redis:// URL");
  }
  if (auto i = ParseInterval(c.reconcile_interval); !i) {
    return ConfigError("--reconcile-interval must be off or a duration like 30m, 1h or 1d");
  }
  if (auto i = ParseInterval(c.backup_interval); !i) {
    return ConfigError("--backup-interval must be off or a duration like 1h, 6h or 1d");
  } else if (*i > 0 && c.database_url.starts_with("postgres")) {
    return ConfigError(
        "--backup-interval backs up SQLite; back PostgreSQL up with its own tools "
        "(docs/operations.md, Backups)");
  }
  if (auto i = ParseInterval(c.audit_verify_interval); !i) {
    return ConfigError("--audit-verify-interval must be off or a duration like 10m, 1h or 1d");
  }
  if (c.backup_keep < 1 || c.backup_keep > 10000) {
    return ConfigError("--backup-keep must be between 1 and 10000");
  }
  if (!c.master_key.empty() && c.master_key.size() != 64) {
    return ConfigError("the master key must be 64 hexadecimal characters (32 bytes)");
  }
  if (auto p = ResolveDatabase(c); !p) return tl::unexpected(p.error());
  return {};
}

std::string BackupDir(const ServeConfig& c) {
  return c.backup_dir.empty() ? (std::filesystem::path(c.data_dir) / "backups").string()
                              : c.backup_dir;
}

Result<DatabaseTarget> ResolveDatabase(const ServeConfig& c) {
  const std::string& url = c.database_url;
  if (url.empty()) {
    return DatabaseTarget{false, (std::filesystem::path(c.data_dir) / "assistantd.db").string()};
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    return DatabaseTarget{true, url};
  }
  if (url.starts_with("sqlite:")) {
    std::string path = url.substr(7);
    if (path.starts_with("//")) path = path.substr(2);
    if (path.empty()) return ConfigError("--database-url sqlite: needs a file path");
    return DatabaseTarget{false, path};
  }
  return ConfigError("--database-url must start with sqlite: or postgres://");
}

Result<std::string> SqlitePath(const ServeConfig& c) {
  auto target = ResolveDatabase(c);
  if (!target) return tl::unexpected(target.error());
  if (target->postgres) return ConfigError("--database-url names a PostgreSQL database");
  return target->location;
}

std::string RedactUrl(const std::string& url) {
  // postgres://user:password@host/db → postgres://user:••••@host/db
  const auto scheme = url.find("://");
  const auto at = url.find('@', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme == std::string::npos || at == std::string::npos) return url;
  const auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "\u2022\u2022\u2022\u2022" + url.substr(at);
}

namespace {

// 256 random bits as hex, created once at <dir>/<name> (mode 0600, written atomically; if
// another process wins the race its value is used), then read back.
Result<std::string> LoadOrCreateSecretFile(const std::string& dir, const std::string& name,
                                           const Logger& logger) {
  const auto path = std::filesystem::path(dir) / name;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ConfigError("cannot create data dir " + dir + ": " + ec.message());
  if (!std::filesystem::exists(path)) {
    const std::string secret = HexEncode(RandomBytes(32));
    const std::string tmp = path.string() + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return ConfigError("cannot write " + tmp);
    const auto written = ::write(fd, secret.data(), secret.size());
    const bool ok = written == static_cast<ssize_t>(secret.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || (::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST)) {
      ::unlink(tmp.c_str());
      return ConfigError("cannot write " + path.string());
    }
    ::unlink(tmp.c_str());
    LogEvent(logger, spdlog::level::info, "generated a new secret", {{"path", path.string()}});
  }
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return Trim(buf.str());
}

std::optional<std::string> DecodeHex32(const std::string& hex) {
  if (hex.size() != 64) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < 64; i += 2) {
    int v = 0;
    const auto [p, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, v, 16);
    if (ec != std::errc() || p != hex.data() + i + 2) return std::nullopt;
    out += static_cast<char>(v);
  }
  return out;
}

}  // namespace

Result<std::string> ResolveJwtSecret(const ServeConfig& c, const Logger& logger) {
  if (!c.jwt_secret.empty()) return c.jwt_secret;
  auto secret = LoadOrCreateSecretFile(c.data_dir, "jwt-secret", logger);
  if (!secret) return secret;
  if (secret->size() < auth::kMinSecretBytes) {
    return ConfigError("the JWT secret in " + c.data_dir + "/jwt-secret is shorter than 32 bytes");
  }
  return secret;
}

std::string KeyRingPath(const ServeConfig& c) {
  return (std::filesystem::path(c.data_dir) / "keys.json").string();
}

std::string OwnIssuer(const ServeConfig& c) {
  if (!c.jwt_issuer.empty()) return c.jwt_issuer;
  if (!c.public_url.empty()) {
    std::string url = c.public_url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url + "/auth/v1";
  }
  return "assistantd";
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = Trim(text.substr(start, end - start));
    if (!item.empty()) out.push_back(std::move(item));
    start = end + 1;
  }
  return out;
}

Result<void> WriteSecretFile(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return ConfigError("cannot write " + tmp);
  const auto written = ::write(fd, content.data(), content.size());
  const bool ok = written == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return ConfigError("cannot write " + path);
  }
  const auto dir = std::filesystem::path(path).parent_path();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Result<MasterKeys> ResolveMasterKeys(const ServeConfig& c, const Logger& logger) {
  std::string hex = c.master_key;
  if (hex.empty()) {
    auto stored = LoadOrCreateSecretFile(c.data_dir, "master-key", logger);
    if (!stored) return tl::unexpected(stored.error());
    hex = *stored;
  }
  auto key = DecodeHex32(hex);
  if (!key) return ConfigError("the master key must be 64 hexadecimal characters (32 bytes)");
  MasterKeys keys{*key, {}};
  std::vector<std::string> accepted = c.accepted_master_keys;
  const auto previous = std::filesystem::path(c.data_dir) / kPreviousMasterKeyFile;
  if (std::filesystem::exists(previous)) {
    std::ifstream in(previous);
    std::stringstream buf;
    buf << in.rdbuf();
    accepted.push_back(Trim(buf.str()));
  }
  for (const auto& a : accepted) {
    auto raw = DecodeHex32(a);
    if (!raw) {
      return ConfigError("each accepted master key (--accepted-master-key, " +
                         std::string(kPreviousMasterKeyFile) +
                         ") must be 64 hexadecimal characters");
    }
    if (*raw != keys.current) keys.accepted.push_back(std::move(*raw));
  }
  return keys;
}

Result<void> ApplyConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return ConfigError("cannot read config file " + path);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0) {
      return ConfigError(path + ":" + std::to_string(number) + ": expected KEY=VALUE");
    }
    const std::string key = Trim(line.substr(0, eq));
    std::string value = Trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    std::string where = path;
    where += ':';
    where += std::to_string(number);
    if (!key.starts_with("ASSISTANTD_") && key != "VAPI_API_KEY") {
      return ConfigError(where.append(": unknown key ").append(key));
    }
    if (::setenv(key.c_str(), value.c_str(), /*overwrite=*/0) != 0) {
      return ConfigError(where.append(": cannot set ").append(key));
    }
  }
  return {};
}

Result<int64_t> ParseDuration(const std::string& text) {
  if (text.empty()) return ConfigError("empty duration");
  int64_t unit = 1;
  std::string digits = text;
  switch (text.back()) {
    case 's':
      unit = 1;
      digits.pop_back();
      break;
    case 'm':
      unit = 60;
      digits.pop_back();
      break;
    case 'h':
      unit = 3600;
      digits.pop_back();
      break;
    case 'd':
      unit = 86400;
      digits.pop_back();
      break;
    default:
      break;
  }
  int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || value <= 0 ||
      value > 10LL * 365 * 86400 / unit) {
    return ConfigError("duration must look like 90s, 15m, 1h or 7d, got \"" + text + "\"");
  }
  return value * unit;
}

Result<int64_t> ParseInterval(const std::string& text) {
  if (text == "off" || text == "0") return 0;
  return ParseDuration(text);
}

}  // namespace assistantd::config
