#include "auth/signing_keys.hpp"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>

#include "common/sha256.hpp"
#include "common/thread_name.hpp"

namespace assistantd::auth {
namespace {

struct FileStamp {
  bool exists = false;
  ino_t inode = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp StampOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {true, st.st_ino, st.st_size,
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

}  // namespace

SigningKeys::SigningKeys(JwtSettings secret_settings, KeyRegistry& registry, Logger logger)
    : secret_settings_(std::move(secret_settings)),
      registry_(registry),
      logger_(std::move(logger)),
      state_(std::make_shared<const State>()) {
  Replace(std::make_shared<State>());
  Publish(*state_);
}

SigningKeys::~SigningKeys() {
  {
    std::lock_guard lock(watch_mu_);
    stop_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

std::shared_ptr<const SigningKeys::State> SigningKeys::Current() const {
  std::lock_guard lock(mu_);
  return state_;
}

void SigningKeys::Publish(const State& state) {
  std::vector<VerificationKey> keys;
  for (const auto& k : state.ring.keys) {
    if (k.status != KeyStatus::kRevoked) keys.push_back(k.key.Public());
  }
  registry_.SetPart("signing-keys", std::move(keys));
  std::vector<VerificationKey> secret;
  if (!state.ring.legacy_secret_revoked && !secret_settings_.secret.empty()) {
    secret = SecretKeys(secret_settings_);
  }
  registry_.SetPart("secret", std::move(secret));
}

void SigningKeys::Replace(std::shared_ptr<State> next) {
  nlohmann::json keys = nlohmann::json::array();
  // The key in use first, then standby keys (next to sign), then previously used ones.
  for (const KeyStatus status :
       {KeyStatus::kInUse, KeyStatus::kStandby, KeyStatus::kPreviouslyUsed}) {
    for (const auto& k : next->ring.keys) {
      if (k.status == status) {
        if (auto jwk = k.key.Public().PublicJwk()) keys.push_back(std::move(*jwk));
      }
    }
  }
  next->jwks = {{"keys", std::move(keys)}};
  next->has_api_keys = !next->configured.empty() ||
                       std::any_of(next->ring.api_keys.begin(), next->ring.api_keys.end(),
                                   [](const ApiKeyRecord& r) { return !r.revoked; });
  std::lock_guard lock(mu_);
  state_ = std::move(next);
}

void SigningKeys::Install(KeyRing ring) {
  auto next = std::make_shared<State>();
  next->ring = std::move(ring);
  next->configured = Current()->configured;
  Replace(next);
  Publish(*next);
}

void SigningKeys::SetConfiguredApiKeys(const std::vector<std::string>& publishable,
                                       const std::vector<std::string>& secret) {
  auto next = std::make_shared<State>();
  for (const auto& k : publishable)
    next->configured.emplace_back(ApiKeyType::kPublishable, ApiKeyDigest(k));
  for (const auto& k : secret) next->configured.emplace_back(ApiKeyType::kSecret, ApiKeyDigest(k));
  next->ring = Current()->ring;
  Replace(std::move(next));
}

void SigningKeys::WatchFile(std::string path) {
  watcher_ = std::thread([this, path = std::move(path)] {
    NameThisThread("ad-keys-watch");
    FileStamp seen = StampOf(path);
    std::unique_lock lock(watch_mu_);
    while (!watch_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_; })) {
      const FileStamp now = StampOf(path);
      if (now == seen) continue;
      seen = now;
      auto ring = LoadKeyRingFile(path);
      if (!ring) {
        LogEvent(logger_, spdlog::level::warn, "key ring not reloaded; the keys in force stay",
                 {{"path", path}, {"reason", ring.error().message}});
        continue;
      }
      // In force first, then said: whoever reads the line can rely on the new ring.
      const KeyRing installed = *ring;
      Install(std::move(*ring));
      const auto* in_use = installed.InUse();
      const auto revoked =
          std::count_if(installed.keys.begin(), installed.keys.end(),
                        [](const RingKey& k) { return k.status == KeyStatus::kRevoked; });
      const auto api_keys = std::count_if(installed.api_keys.begin(), installed.api_keys.end(),
                                          [](const ApiKeyRecord& r) { return !r.revoked; });
      LogEvent(logger_, spdlog::level::info, "key ring reloaded",
               {{"path", path},
                {"keys", installed.keys.size()},
                {"revoked", revoked},
                {"apiKeys", api_keys},
                {"inUse", in_use ? in_use->key.kid() : std::string("legacy")},
                {"legacySecret", installed.LegacySecretStatus()}});
    }
  });
}

std::string SigningKeys::SignJwt(const nlohmann::json& claims) const {
  const auto state = Current();
  if (const auto* k = state->ring.InUse()) return k->key.SignJwt(claims);
  return auth::SignJwt(secret_settings_, claims);
}

std::string SigningKeys::SigningAlgorithm() const {
  const auto state = Current();
  if (const auto* k = state->ring.InUse()) return std::string(ToString(k->key.algorithm()));
  return secret_settings_.algorithm;
}

nlohmann::json SigningKeys::Jwks() const { return Current()->jwks; }

std::optional<ApiKeyType> SigningKeys::LookupApiKey(std::string_view presented) const {
  const auto state = Current();
  const std::string digest = ApiKeyDigest(presented);
  std::optional<ApiKeyType> found;
  // Every known digest is compared in full, so the time taken says nothing about which
  // (or how much of one) matched.
  const auto consider = [&](ApiKeyType type, const std::string& known) {
    if (known.size() == digest.size() &&
        CRYPTO_memcmp(known.data(), digest.data(), digest.size()) == 0) {
      found = type;
    }
  };
  for (const auto& [type, known] : state->configured) consider(type, known);
  for (const auto& r : state->ring.api_keys) {
    if (!r.revoked) consider(r.type, r.digest);
  }
  return found;
}

bool SigningKeys::HasApiKeys() const { return Current()->has_api_keys; }

}  // namespace assistantd::auth
