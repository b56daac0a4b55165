#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/jwt.hpp"
#include "auth/key_ring.hpp"
#include "common/logging.hpp"

namespace assistantd::auth {

// Signs the tokens we issue.
class TokenSigner {
 public:
  virtual ~TokenSigner() = default;
  virtual std::string SignJwt(const nlohmann::json& claims) const = 0;
};

// The key ring as a running server uses it: the key in use signs (else the HS secret), the
// registry verifies with every key that is not revoked, /auth/v1/.well-known/jwks.json
// publishes their public halves, and the API keys (generated into the ring, or configured
// by flag) are recognised. With a ring file, changes made by `assistantd keys` are picked up
// within a second, so rotation needs no restart.
class SigningKeys final : public TokenSigner {
 public:
  SigningKeys(JwtSettings secret_settings, KeyRegistry& registry, Logger logger);
  ~SigningKeys() override;
  SigningKeys(const SigningKeys&) = delete;
  SigningKeys& operator=(const SigningKeys&) = delete;

  // Makes `ring` the one in force.
  void Install(KeyRing ring);
  // Plain API keys given by flag or environment (compared by digest like generated ones).
  void SetConfiguredApiKeys(const std::vector<std::string>& publishable,
                            const std::vector<std::string>& secret);
  // Reloads `path` whenever it changes (checked every second) until destruction. A file
  // that does not parse leaves the ring in force as it was, with a warning.
  void WatchFile(std::string path);

  std::string SignJwt(const nlohmann::json& claims) const override;
  // {"keys": [...]}: public JWKs of the standby, in-use and previously used keys.
  nlohmann::json Jwks() const;
  // The type of a presented API key, if it is a known one (constant-time comparisons).
  std::optional<ApiKeyType> LookupApiKey(std::string_view presented) const;
  // True if any API key is configured or generated.
  bool HasApiKeys() const;
  // The algorithm our tokens are signed with now.
  std::string SigningAlgorithm() const;

 private:
  struct State {
    KeyRing ring;
    std::vector<std::pair<ApiKeyType, std::string>> configured;  // hex SHA-256 digests
    // Derived once per change, not per request:
    nlohmann::json jwks;        // what Jwks() answers
    bool has_api_keys = false;  // configured or generated and not revoked
  };
  // Fills the derived members of `state` and makes it the one in force.
  void Replace(std::shared_ptr<State> state);
  void Publish(const State& state);
  std::shared_ptr<const State> Current() const;

  const JwtSettings secret_settings_;
  KeyRegistry& registry_;
  Logger logger_;
  mutable std::mutex mu_;
  std::shared_ptr<const State> state_;

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stop_ = false;
  std::thread watcher_;
};

}  // namespace assistantd::auth
