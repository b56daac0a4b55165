#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwk.hpp"
#include "common/error.hpp"

namespace assistantd::auth {

// A signing key's life, as Supabase's dashboard shows it: a standby key is published but
// does not sign; the one key in use signs; previously used keys still verify; revoked keys
// verify nothing.
enum class KeyStatus { kStandby, kInUse, kPreviouslyUsed, kRevoked };
std::string_view ToString(KeyStatus status);

struct RingKey {
  SigningKey key;
  KeyStatus status = KeyStatus::kStandby;
  int64_t created_at_s = 0;
  int64_t updated_at_s = 0;
};

// Supabase's new API keys: sb_publishable_… (the app, as anon) and sb_secret_… (service_role).
enum class ApiKeyType { kPublishable, kSecret };
std::string_view ToString(ApiKeyType type);
// The type an API key's prefix names, if it is one.
std::optional<ApiKeyType> ApiKeyTypeOf(std::string_view key);

// A generated API key as stored: only its SHA-256 and a hint of its start.
struct ApiKeyRecord {
  std::string id;
  ApiKeyType type = ApiKeyType::kPublishable;
  std::string name;
  std::string digest;  // lower-case hex SHA-256 of the whole key
  std::string hint;    // "sb_secret_N7UND…", enough to recognise it in a list
  int64_t created_at_s = 0;
  bool revoked = false;
};

// Everything `assistantd keys` manages: the asymmetric signing keys, the state of the legacy
// HS secret (in use while no other key is; "previously used" beside one; or revoked) and the
// generated API keys.
struct KeyRing {
  std::vector<RingKey> keys;
  bool legacy_secret_revoked = false;
  std::vector<ApiKeyRecord> api_keys;

  const RingKey* InUse() const;
  // "in_use", "previously_used" or "revoked": the legacy secret's state.
  std::string LegacySecretStatus() const;
};

// The ring file: {"signing_keys": [{"status", "created_at", "updated_at", "jwk": private JWK}],
// "legacy_secret": "revoked"?, "api_keys": [...]}.
Result<KeyRing> ParseKeyRing(const nlohmann::json& doc);
nlohmann::json KeyRingJson(const KeyRing& ring);

// GOTRUE_JWT_KEYS: a JSON array of private JWKs where exactly one has "sign" in key_ops (in
// use) and the others verify (previously used). Both directions.
Result<KeyRing> KeyRingFromGoTrueKeys(const nlohmann::json& keys);
nlohmann::json GoTrueKeys(const KeyRing& ring);

// Rotation steps (they change the ring or explain why not).
// A new standby key; its kid (a UUID) is returned.
Result<std::string> CreateKey(KeyRing& ring, JwsAlgorithm algorithm, int64_t now_s);
// `kid` (or "legacy", the HS secret) becomes the key in use; the one in use before is then
// previously used. Revoked keys cannot come back.
Result<void> ActivateKey(KeyRing& ring, const std::string& kid, int64_t now_s);
// A standby or previously used key (or "legacy") stops verifying. The key in use cannot be
// revoked: activate another first.
Result<void> RevokeKey(KeyRing& ring, const std::string& kid, int64_t now_s);

// A new API key in Supabase's format: prefix + 22 random base64url characters + "_" + an
// 8-character checksum. Returns the key (shown once) and the record to store.
std::pair<std::string, ApiKeyRecord> NewApiKey(ApiKeyType type, std::string name, int64_t now_s);
// What is kept of an API key: lower-case hex SHA-256.
std::string ApiKeyDigest(std::string_view key);

// The ring file at `path` (missing: an empty ring).
Result<KeyRing> LoadKeyRingFile(const std::string& path);
// Loads, changes and writes back the ring under an exclusive lock on `path`.lock, so two
// `assistantd keys` commands cannot lose each other's change. Written atomically, mode 0600.
Result<KeyRing> UpdateKeyRingFile(const std::string& path,
                                  const std::function<Result<void>(KeyRing&)>& change);

}  // namespace assistantd::auth
