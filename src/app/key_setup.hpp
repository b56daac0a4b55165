#pragma once

#include <memory>

#include "auth/jwks_source.hpp"
#include "auth/jwt.hpp"
#include "auth/key_ring.hpp"
#include "auth/signing_keys.hpp"
#include "common/clock.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "config/config.hpp"

namespace assistantd::app {

// The JwtSettings of a configuration: the HMAC secret and its algorithm, the audience, an
// explicitly required issuer, the accepted algorithms and the role rule.
auth::JwtSettings JwtSettingsFor(const config::ServeConfig& c, std::string secret);

// The key ring in force: --jwt-keys when given, else <data-dir>/keys.json. With `generate`
// and an asymmetric --jwt-algorithm, a ring file without a key in use gets one of that
// algorithm, generated once (mode 0600).
Result<auth::KeyRing> LoadKeyRing(const config::ServeConfig& c, const Logger& log, bool generate);

// Everything that verifies and signs tokens for `serve` and `token`: the registry (secret,
// key ring, --jwks-file, --jwks-url), the signer, and the remote JWKS refresher. Members
// are destroyed in reverse order: the refresher before the registry it feeds.
struct KeySetup {
  auth::JwtSettings settings;
  auth::KeyRegistry registry;
  std::unique_ptr<auth::SigningKeys> signing;
  std::unique_ptr<auth::JwksSource> jwks;
  std::unique_ptr<auth::JwtVerifier> verifier;

  // `serve` (watch = true) also follows the ring file and refreshes the JWKS in the
  // background; an unreachable --jwks-url with no other key source is an error.
  static Result<std::unique_ptr<KeySetup>> Make(const config::ServeConfig& c, std::string secret,
                                                const Clock& clock, const LogFactory& logs,
                                                MetricsRegistry& metrics, bool watch);
};

struct KeysOptions {
  std::string action;  // list, create, activate, revoke, export, api-key-create, api-key-revoke
  std::string algorithm = "ES256";
  bool activate = false;             // create: put the new key in use at once
  std::string kid;                   // activate, revoke; api-key-revoke: the API key's id
  std::string type = "publishable";  // api-key-create
  std::string name;
};
// `assistantd keys …`: prints JSON; exit 1 with one line on error.
int RunKeys(const config::ServeConfig& c, const KeysOptions& o);

}  // namespace assistantd::app
