#include "app/key_setup.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "app/commands.hpp"
#include "common/json_util.hpp"
#include "common/time_format.hpp"
#include "config/deployment.hpp"

namespace assistantd::app {
namespace {

Result<std::vector<auth::VerificationKey>> ReadJwksFile(const std::string& path,
                                                        const Logger& log) {
  std::ifstream in(path);
  if (!in)
    return Fail(ErrorCode::kInvalidInput, "invalid_config", "cannot read --jwks-file " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  auto doc = ParseJsonStrict(buf.str(), 8);
  if (!doc) {
    return Fail(ErrorCode::kInvalidInput, "invalid_config", "--jwks-file " + path + " is not JSON");
  }
  std::vector<std::string> skipped;
  auto keys = auth::ParseJwks(*doc, auth::KeyOrigin::kExternal, &skipped);
  if (!keys) {
    return Fail(ErrorCode::kInvalidInput, "invalid_config",
                "--jwks-file " + path + ": " + keys.error().message);
  }
  for (const auto& s : skipped)
    LogEvent(log, spdlog::level::warn, "JWKS key skipped", {{"reason", s}});
  return keys;
}

}  // namespace

auth::JwtSettings JwtSettingsFor(const config::ServeConfig& c, std::string secret) {
  auth::JwtSettings s;
  s.secret = std::move(secret);
  for (const auto& accepted : c.jwt_accepted_secrets) {
    if (accepted != s.secret) s.accepted_secrets.push_back(accepted);
  }
  s.algorithm = auth::IsSupportedAlgorithm(c.jwt_algorithm) ? c.jwt_algorithm : "HS256";
  s.audience = c.jwt_audience.empty() ? std::nullopt : std::optional<std::string>(c.jwt_audience);
  s.issuer = c.jwt_issuer.empty() ? std::nullopt : std::optional<std::string>(c.jwt_issuer);
  for (const auto& name : config::SplitList(c.jwt_algorithms)) {
    if (const auto alg = auth::ParseJwsAlgorithm(name)) s.allowed_algorithms.push_back(*alg);
  }
  s.strict_roles = c.strict_roles;
  s.refuse_test_role =
      !config::TestRoleAllowed(c, config::ParseProfile(c.profile).value_or(config::Profile::kNone));
  return s;
}

Result<auth::KeyRing> LoadKeyRing(const config::ServeConfig& c, const Logger& log, bool generate) {
  if (!c.jwt_keys.empty()) {
    auto doc = ParseJsonStrict(c.jwt_keys, 8);
    if (!doc) {
      return Fail(ErrorCode::kInvalidInput, "invalid_config", "--jwt-keys is not JSON");
    }
    return auth::KeyRingFromGoTrueKeys(*doc);
  }
  const std::string path = config::KeyRingPath(c);
  const auto alg = auth::ParseJwsAlgorithm(c.jwt_algorithm);
  if (!generate || !alg || auth::IsHmac(*alg)) return auth::LoadKeyRingFile(path);
  bool created = false;
  auto ring = auth::UpdateKeyRingFile(path, [&](auth::KeyRing& r) -> Result<void> {
    if (r.InUse()) return {};
    const int64_t now = SystemClock().NowSeconds();
    auto kid = auth::CreateKey(r, *alg, now);
    if (!kid) return tl::unexpected(kid.error());
    created = true;
    return auth::ActivateKey(r, *kid, now);
  });
  if (ring && created) {
    LogEvent(log, spdlog::level::info, "generated a signing key",
             {{"path", path}, {"kid", ring->InUse()->key.kid()}, {"alg", c.jwt_algorithm}});
  }
  return ring;
}

Result<std::unique_ptr<KeySetup>> KeySetup::Make(const config::ServeConfig& c, std::string secret,
                                                 const Clock& clock, const LogFactory& logs,
                                                 MetricsRegistry& metrics, bool watch) {
  const Logger log = logs.Make("keys");
  auto setup = std::make_unique<KeySetup>();
  setup->settings = JwtSettingsFor(c, std::move(secret));
  setup->signing = std::make_unique<auth::SigningKeys>(setup->settings, setup->registry, log);
  auto ring = LoadKeyRing(c, log, watch);
  if (!ring) return tl::unexpected(ring.error());
  setup->signing->Install(std::move(*ring));
  setup->signing->SetConfiguredApiKeys(c.publishable_keys, c.secret_keys);
  if (watch && c.jwt_keys.empty()) setup->signing->WatchFile(config::KeyRingPath(c));
  if (!c.jwks_file.empty()) {
    auto keys = ReadJwksFile(c.jwks_file, log);
    if (!keys) return tl::unexpected(keys.error());
    setup->registry.SetPart("jwks-file", std::move(*keys));
  }
  if (!c.jwks_url.empty() && watch) {
    auth::JwksSourceSettings js;
    js.url = c.jwks_url;
    js.unknown_kid_interval_s = config::ParseInterval(c.jwks_refresh_interval).value_or(30);
    js.timeout_ms = static_cast<long>(config::ParseDuration(c.jwks_timeout).value_or(5) * 1000);
    js.connect_timeout_ms = std::min(js.connect_timeout_ms, js.timeout_ms);
    setup->jwks = std::make_unique<auth::JwksSource>(js, setup->registry, clock, log, metrics);
    if (auto loaded = setup->jwks->Load(); !loaded) {
      if (c.jwks_file.empty() && c.jwt_secret.empty()) {
        return Fail(ErrorCode::kUnavailable, "jwks_unavailable",
                    "cannot load --jwks-url " + c.jwks_url + ": " + loaded.error().message +
                        " (and no --jwks-file or --jwt-secret to verify tokens with)");
      }
      LogEvent(log, spdlog::level::warn, "JWKS not loaded at start; retrying in the background",
               {{"url", c.jwks_url}, {"reason", loaded.error().message}});
    }
    setup->jwks->Start();
  }
  setup->verifier = std::make_unique<auth::JwtVerifier>(setup->settings, setup->registry, clock);
  return setup;
}

int RunKeys(const config::ServeConfig& c, const KeysOptions& o) {
  if (auto v = config::Validate(c); !v) return Die(v.error().message);
  const std::string path = config::KeyRingPath(c);
  const int64_t now = SystemClock().NowSeconds();
  const auto key_json = [](const auth::RingKey& k) {
    return nlohmann::json{{"kid", k.key.kid()},
                          {"algorithm", auth::ToString(k.key.algorithm())},
                          {"status", auth::ToString(k.status)},
                          {"createdAt", FormatTimestamp(k.created_at_s * 1'000'000)},
                          {"updatedAt", FormatTimestamp(k.updated_at_s * 1'000'000)}};
  };
  const auto list = [&](const auth::KeyRing& ring) {
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& k : ring.keys) keys.push_back(key_json(k));
    nlohmann::json api = nlohmann::json::array();
    for (const auto& r : ring.api_keys) {
      api.push_back({{"id", r.id},
                     {"type", auth::ToString(r.type)},
                     {"name", r.name},
                     {"hint", r.hint},
                     {"createdAt", FormatTimestamp(r.created_at_s * 1'000'000)},
                     {"revoked", r.revoked}});
    }
    return nlohmann::json{
        {"path", path},
        {"legacySecret", {{"kid", "legacy"}, {"status", ring.LegacySecretStatus()}}},
        {"signingKeys", std::move(keys)},
        {"apiKeys", std::move(api)}};
  };
  if (!c.jwt_keys.empty() && o.action != "list" && o.action != "export") {
    return Die(
        "--jwt-keys / ASSISTANTD_JWT_KEYS is set: that ring is managed where it is "
        "defined, not in " +
        path);
  }
  Result<auth::KeyRing> ring = tl::unexpected(Error{});
  nlohmann::json out;
  if (o.action == "list" || o.action == "export") {
    ring = c.jwt_keys.empty() ? auth::LoadKeyRingFile(path) : LoadKeyRing(c, nullptr, false);
    if (ring) out = o.action == "list" ? list(*ring) : auth::GoTrueKeys(*ring);
  } else if (o.action == "create") {
    const auto alg = auth::ParseJwsAlgorithm(o.algorithm);
    if (!alg || auth::IsHmac(*alg)) return Die("--algorithm must be ES256, RS256 or EdDSA");
    std::string kid;
    ring = auth::UpdateKeyRingFile(path, [&](auth::KeyRing& r) -> Result<void> {
      auto created = auth::CreateKey(r, *alg, now);
      if (!created) return tl::unexpected(created.error());
      kid = *created;
      return o.activate ? auth::ActivateKey(r, kid, now) : Result<void>{};
    });
    if (ring) {
      for (const auto& k : ring->keys) {
        if (k.key.kid() == kid) out = key_json(k);
      }
    }
  } else if (o.action == "activate" || o.action == "revoke") {
    ring = auth::UpdateKeyRingFile(path, [&](auth::KeyRing& r) {
      return o.action == "activate" ? auth::ActivateKey(r, o.kid, now)
                                    : auth::RevokeKey(r, o.kid, now);
    });
    if (ring) out = list(*ring);
  } else if (o.action == "api-key-create") {
    if (o.type != "publishable" && o.type != "secret")
      return Die("--type must be publishable or secret");
    auto [key, record] = auth::NewApiKey(
        o.type == "secret" ? auth::ApiKeyType::kSecret : auth::ApiKeyType::kPublishable, o.name,
        now);
    ring = auth::UpdateKeyRingFile(path, [&, &record = record](auth::KeyRing& r) -> Result<void> {
      r.api_keys.push_back(record);
      return {};
    });
    if (ring) {
      out = {{"id", record.id}, {"type", o.type}, {"name", o.name}, {"key", key}};
      std::fprintf(stderr, "assistantd: the key is shown once; only its SHA-256 is stored in %s\n",
                   path.c_str());
    }
  } else if (o.action == "api-key-revoke") {
    ring = auth::UpdateKeyRingFile(path, [&](auth::KeyRing& r) -> Result<void> {
      for (auto& k : r.api_keys) {
        if (k.id == o.kid) {
          k.revoked = true;
          return {};
        }
      }
      return Fail(ErrorCode::kNotFound, "not_found", "no API key has the id " + o.kid);
    });
    if (ring) out = list(*ring);
  } else {
    return Die("unknown keys action " + o.action);
  }
  if (!ring) return Die(ring.error().message);
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

}  // namespace assistantd::app
