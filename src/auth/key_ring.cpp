#include "auth/key_ring.hpp"

#include <fcntl.h>
#include <openssl/sha.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/encoding.hpp"
#include "common/json_util.hpp"
#include "common/sha256.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"

namespace assistantd::auth {
namespace {

using nlohmann::json;

constexpr const char* kLegacy = "legacy";

tl::unexpected<Error> RingError(std::string message) {
  return Fail(ErrorCode::kInvalidInput, "invalid_key_ring", std::move(message));
}

std::optional<KeyStatus> ParseStatus(std::string_view s) {
  if (s == "standby") return KeyStatus::kStandby;
  if (s == "in_use") return KeyStatus::kInUse;
  if (s == "previously_used") return KeyStatus::kPreviouslyUsed;
  if (s == "revoked") return KeyStatus::kRevoked;
  return std::nullopt;
}

json Time(int64_t s) { return FormatTimestamp(s * 1'000'000); }

int64_t TimeOf(const json& doc, const char* name) {
  const auto it = doc.find(name);
  if (it == doc.end() || !it->is_string()) return 0;
  return ParseTimestamp(it->get_ref<const std::string&>()).value_or(0) / 1'000'000;
}

RingKey* Find(KeyRing& ring, const std::string& kid) {
  for (auto& k : ring.keys) {
    if (k.key.kid() == kid) return &k;
  }
  return nullptr;
}

Result<void> CheckOneInUse(const KeyRing& ring) {
  int in_use = 0;
  for (const auto& k : ring.keys) in_use += k.status == KeyStatus::kInUse ? 1 : 0;
  if (in_use > 1) return RingError("more than one signing key is in use");
  for (size_t i = 0; i < ring.keys.size(); ++i) {
    for (size_t j = i + 1; j < ring.keys.size(); ++j) {
      if (ring.keys[i].key.kid() == ring.keys[j].key.kid()) {
        return RingError("two signing keys share the kid " + ring.keys[i].key.kid());
      }
    }
  }
  if (ring.legacy_secret_revoked && in_use == 0) {
    return RingError("the legacy secret is revoked and no other key is in use");
  }
  return {};
}

std::string RandomBase64Url(size_t bytes) { return Base64UrlEncode(RandomBytes(bytes)); }

}  // namespace

std::string_view ToString(KeyStatus status) {
  switch (status) {
    case KeyStatus::kStandby:
      return "standby";
    case KeyStatus::kInUse:
      return "in_use";
    case KeyStatus::kPreviouslyUsed:
      return "previously_used";
    case KeyStatus::kRevoked:
      return "revoked";
  }
  return "standby";
}

std::string_view ToString(ApiKeyType type) {
  return type == ApiKeyType::kSecret ? "secret" : "publishable";
}

std::optional<ApiKeyType> ApiKeyTypeOf(std::string_view key) {
  if (key.starts_with("sb_publishable_")) return ApiKeyType::kPublishable;
  if (key.starts_with("sb_secret_")) return ApiKeyType::kSecret;
  return std::nullopt;
}

const RingKey* KeyRing::InUse() const {
  for (const auto& k : keys) {
    if (k.status == KeyStatus::kInUse) return &k;
  }
  return nullptr;
}

std::string KeyRing::LegacySecretStatus() const {
  if (legacy_secret_revoked) return "revoked";
  return InUse() ? "previously_used" : "in_use";
}

Result<KeyRing> ParseKeyRing(const json& doc) {
  if (!doc.is_object()) return RingError("the key ring must be a JSON object");
  KeyRing ring;
  if (const auto keys = doc.find("signing_keys"); keys != doc.end()) {
    if (!keys->is_array()) return RingError("signing_keys must be an array");
    for (const auto& entry : *keys) {
      if (!entry.is_object() || !entry.contains("jwk")) return RingError("a signing key needs jwk");
      auto key = ParsePrivateJwk(entry["jwk"]);
      if (!key) return RingError("signing key: " + key.error().message);
      const auto status = ParseStatus(StringOr(entry, "status"));
      if (!status) return RingError("signing key " + key->kid() + " has no valid status");
      ring.keys.push_back(
          {std::move(*key), *status, TimeOf(entry, "created_at"), TimeOf(entry, "updated_at")});
    }
  }
  ring.legacy_secret_revoked = StringOr(doc, "legacy_secret") == "revoked";
  if (const auto api = doc.find("api_keys"); api != doc.end()) {
    if (!api->is_array()) return RingError("api_keys must be an array");
    for (const auto& entry : *api) {
      if (!entry.is_object()) return RingError("an API key entry must be an object");
      ApiKeyRecord r;
      r.id = StringOr(entry, "id");
      const std::string type = StringOr(entry, "type");
      if (type != "publishable" && type != "secret")
        return RingError("API key type must be publishable or secret");
      r.type = type == "secret" ? ApiKeyType::kSecret : ApiKeyType::kPublishable;
      r.name = StringOr(entry, "name");
      r.digest = StringOr(entry, "digest");
      r.hint = StringOr(entry, "hint");
      r.created_at_s = TimeOf(entry, "created_at");
      r.revoked = BoolOr(entry, "revoked", false);
      if (r.id.empty() || r.digest.size() != 64)
        return RingError("an API key entry needs id and digest");
      ring.api_keys.push_back(std::move(r));
    }
  }
  if (auto ok = CheckOneInUse(ring); !ok) return tl::unexpected(ok.error());
  return ring;
}

json KeyRingJson(const KeyRing& ring) {
  json keys = json::array();
  for (const auto& k : ring.keys) {
    keys.push_back({{"status", ToString(k.status)},
                    {"created_at", Time(k.created_at_s)},
                    {"updated_at", Time(k.updated_at_s)},
                    {"jwk", k.key.PrivateJwk({"sign", "verify"})}});
  }
  json api = json::array();
  for (const auto& r : ring.api_keys) {
    api.push_back({{"id", r.id},
                   {"type", ToString(r.type)},
                   {"name", r.name},
                   {"digest", r.digest},
                   {"hint", r.hint},
                   {"created_at", Time(r.created_at_s)},
                   {"revoked", r.revoked}});
  }
  json doc = {{"signing_keys", std::move(keys)}, {"api_keys", std::move(api)}};
  if (ring.legacy_secret_revoked) doc["legacy_secret"] = "revoked";
  return doc;
}

Result<KeyRing> KeyRingFromGoTrueKeys(const json& keys) {
  if (!keys.is_array()) return RingError("the keys must be a JSON array of private JWKs");
  KeyRing ring;
  for (const auto& jwk : keys) {
    if (jwk.is_object() && StringOr(jwk, "kty") == "oct") continue;  // the secret: --jwt-secret
    auto key = ParsePrivateJwk(jwk);
    if (!key) return RingError(key.error().message);
    bool sign = false;
    if (const auto ops = jwk.find("key_ops"); ops != jwk.end() && ops->is_array()) {
      for (const auto& op : *ops) sign = sign || op == "sign";
    }
    ring.keys.push_back(
        {std::move(*key), sign ? KeyStatus::kInUse : KeyStatus::kPreviouslyUsed, 0, 0});
  }
  if (auto ok = CheckOneInUse(ring); !ok) return tl::unexpected(ok.error());
  return ring;
}

json GoTrueKeys(const KeyRing& ring) {
  json out = json::array();
  for (const auto& k : ring.keys) {
    if (k.status == KeyStatus::kRevoked || k.status == KeyStatus::kStandby) continue;
    out.push_back(k.key.PrivateJwk(k.status == KeyStatus::kInUse
                                       ? std::vector<std::string>{"sign", "verify"}
                                       : std::vector<std::string>{"verify"}));
  }
  return out;
}

Result<std::string> CreateKey(KeyRing& ring, JwsAlgorithm algorithm, int64_t now_s) {
  auto key = GenerateSigningKey(algorithm, NewUuid());
  if (!key) return tl::unexpected(key.error());
  const std::string kid = key->kid();
  ring.keys.push_back({std::move(*key), KeyStatus::kStandby, now_s, now_s});
  return kid;
}

Result<void> ActivateKey(KeyRing& ring, const std::string& kid, int64_t now_s) {
  if (kid == kLegacy) {
    if (ring.legacy_secret_revoked) return RingError("the legacy secret was revoked");
    for (auto& k : ring.keys) {
      if (k.status == KeyStatus::kInUse) {
        k.status = KeyStatus::kPreviouslyUsed;
        k.updated_at_s = now_s;
      }
    }
    return {};
  }
  RingKey* target = Find(ring, kid);
  if (!target) return Fail(ErrorCode::kNotFound, "not_found", "no signing key has the kid " + kid);
  if (target->status == KeyStatus::kRevoked) {
    return RingError("key " + kid + " was revoked; create a new key instead");
  }
  if (target->status == KeyStatus::kInUse) return {};
  for (auto& k : ring.keys) {
    if (k.status == KeyStatus::kInUse) {
      k.status = KeyStatus::kPreviouslyUsed;
      k.updated_at_s = now_s;
    }
  }
  target->status = KeyStatus::kInUse;
  target->updated_at_s = now_s;
  return {};
}

Result<void> RevokeKey(KeyRing& ring, const std::string& kid, int64_t now_s) {
  if (kid == kLegacy) {
    if (!ring.InUse()) {
      return RingError("the legacy secret signs while no other key is in use; activate one first");
    }
    ring.legacy_secret_revoked = true;
    return {};
  }
  RingKey* target = Find(ring, kid);
  if (!target) return Fail(ErrorCode::kNotFound, "not_found", "no signing key has the kid " + kid);
  if (target->status == KeyStatus::kInUse) {
    return RingError("key " + kid + " is in use; activate another key before revoking it");
  }
  target->status = KeyStatus::kRevoked;
  target->updated_at_s = now_s;
  return {};
}

std::string ApiKeyDigest(std::string_view key) { return Sha256Hex(key); }

std::pair<std::string, ApiKeyRecord> NewApiKey(ApiKeyType type, std::string name, int64_t now_s) {
  const std::string prefix = type == ApiKeyType::kSecret ? "sb_secret_" : "sb_publishable_";
  // 16 random bytes are 22 base64url characters, as in Supabase's keys.
  const std::string body = prefix + RandomBase64Url(16);
  const std::string input = "assistantd|" + body;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  const std::string checksum =
      Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest))
          .substr(0, 8);
  std::string key = body + "_" + checksum;
  ApiKeyRecord r;
  r.id = NewUuid();
  r.type = type;
  r.name = std::move(name);
  r.digest = ApiKeyDigest(key);
  r.hint = key.substr(0, prefix.size() + 4) + "...";
  r.created_at_s = now_s;
  return {std::move(key), std::move(r)};
}

Result<KeyRing> LoadKeyRingFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (!std::filesystem::exists(path)) return KeyRing{};
    return RingError("cannot read " + path);
  }
  std::stringstream buf;
  buf << in.rdbuf();
  auto doc = ParseJsonStrict(buf.str(), 8);
  if (!doc) return RingError(path + " is not valid JSON");
  auto ring = ParseKeyRing(*doc);
  if (!ring) return RingError(path + ": " + ring.error().message);
  return ring;
}

Result<KeyRing> UpdateKeyRingFile(const std::string& path,
                                  const std::function<Result<void>(KeyRing&)>& change) {
  const auto dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  const std::string lock_path = path + ".lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX) != 0) {
    if (lock_fd >= 0) ::close(lock_fd);
    return RingError("cannot lock " + lock_path + ": " + std::strerror(errno));
  }
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{lock_fd};
  auto ring = LoadKeyRingFile(path);
  if (!ring) return ring;
  if (auto r = change(*ring); !r) return tl::unexpected(r.error());
  if (auto ok = CheckOneInUse(*ring); !ok) return tl::unexpected(ok.error());
  const std::string text = KeyRingJson(*ring).dump(2) + "\n";
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return RingError("cannot write " + tmp + ": " + std::strerror(errno));
  const bool ok = ::fchmod(fd, 0600) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return RingError("cannot write " + path + ": " + std::strerror(errno));
  }
  return ring;
}

}  // namespace assistantd::auth
