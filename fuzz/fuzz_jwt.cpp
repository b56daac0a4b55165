// JWT parsing and verification, as every authenticated request reaches it. The first byte picks
// the mode:
//   'T' the rest is a compact token, verified as it is (header and payload parsing, base64url,
//       algorithm and kid selection, signature checks);
//   'S' the rest is `header JSON` NUL `claims JSON`, signed with one of our keys (HS256, ES256,
//       RS256 or EdDSA, picked by the next byte) and then verified: the claim checks (exp, nbf,
//       iat, aud, iss, role, metadata) run on attacker-chosen claims;
//   'J' the rest is a JWK Set, parsed as --jwks-file or a remote JWKS would be.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/jwk.hpp"
#include "auth/jwt.hpp"
#include "common/clock.hpp"
#include "common/encoding.hpp"
#include "common/json_util.hpp"

namespace {

namespace auth = assistantd::auth;
using assistantd::Base64UrlEncode;

const std::string kSecret(32, 's');

struct Keys {
  assistantd::ManualClock clock{1'800'000'000'000'000};
  auth::KeyRegistry registry;
  std::vector<auth::SigningKey> signers;
  std::unique_ptr<auth::JwtVerifier> verifier;

  Keys() {
    std::vector<auth::VerificationKey> keys{
        auth::VerificationKey::Hmac("hs", auth::JwsAlgorithm::kHS256, kSecret)};
    for (auto [alg, kid] :
         {std::pair{auth::JwsAlgorithm::kES256, "es"}, std::pair{auth::JwsAlgorithm::kRS256, "rs"},
          std::pair{auth::JwsAlgorithm::kEdDSA, "ed"}}) {
      auto key = auth::GenerateSigningKey(alg, kid);
      if (!key) __builtin_trap();
      keys.push_back(key->Public());
      signers.push_back(std::move(*key));
    }
    registry.SetPart("fuzz", std::move(keys));
    auth::JwtSettings settings;
    settings.secret = kSecret;
    settings.issuer = "https://fuzz.invalid/auth/v1";
    verifier = std::make_unique<auth::JwtVerifier>(settings, registry, clock);
  }
};

Keys& TheKeys() {
  static Keys keys;
  return keys;
}

std::string HmacSha256(std::string_view input) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(kSecret.data()),
                              kSecret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(input.data()),
                                input.size());
  crypto_auth_hmacsha256_final(&state, mac);
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac), sizeof mac));
}

void VerifyBoth(std::string_view token) {
  auto& keys = TheKeys();
  // Twice: the second answer may come from the verifier's cache and must be the same.
  const auto first = keys.verifier->Verify(token);
  const auto second = keys.verifier->Verify(token);
  if (first.has_value() != second.has_value()) __builtin_trap();
  if (first && first->principal.user_id != second->principal.user_id) __builtin_trap();
  (void)keys.verifier->VerifyKeyRole(token);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0]) {
    case 'T':
      VerifyBoth(input);
      break;
    case 'S': {
      if (input.empty()) return 0;
      const auto rest = input.substr(1);
      const auto nul = rest.find('\0');
      if (nul == std::string_view::npos) return 0;
      const std::string signing_input =
          Base64UrlEncode(rest.substr(0, nul)) + "." + Base64UrlEncode(rest.substr(nul + 1));
      auto& signers = TheKeys().signers;
      const size_t pick = static_cast<unsigned char>(input[0]) % (signers.size() + 1);
      const std::string signature =
          pick == signers.size() ? HmacSha256(signing_input) : signers[pick].Sign(signing_input);
      VerifyBoth(signing_input + "." + signature);
      break;
    }
    case 'J': {
      auto jwks = assistantd::ParseJsonStrict(input);
      if (!jwks) return 0;
      std::vector<std::string> skipped;
      (void)auth::ParseJwks(*jwks, auth::KeyOrigin::kExternal, &skipped);
      if (jwks->is_object()) (void)auth::ParsePrivateJwk(*jwks);
      break;
    }
    default:
      break;
  }
  return 0;
}
