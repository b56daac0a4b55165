// Token verification cost: HS256 and ES256 / RS256 signatures checked from scratch, and a
// token already verified (served from the verifier's digest cache until exp).
#include <benchmark/benchmark.h>

#include "auth/jwt.hpp"

namespace {

using assistantd::auth::JwsAlgorithm;
using assistantd::auth::JwtSettings;
using assistantd::auth::JwtVerifier;
using assistantd::auth::KeyRegistry;

nlohmann::json Claims() {
  const int64_t now = assistantd::SystemClock().NowSeconds();
  return {{"sub", "6f1d2c6e-0b51-4a1e-9d6a-0a1b2c3d4e5f"},
          {"aud", "authenticated"},
          {"role", "authenticated"},
          {"iat", now},
          {"exp", now + 3600},
          {"app_metadata", {{"provider", "email"}, {"role", "user"}}}};
}

struct Fixture {
  explicit Fixture(std::optional<JwsAlgorithm> alg) {
    settings.secret = std::string(32, 'k');
    if (alg) {
      auto key = assistantd::auth::GenerateSigningKey(*alg, "bench");
      registry.SetPart("keys", {key->Public()});
      token = key->SignJwt(Claims());
    } else {
      registry.SetPart("secret", {assistantd::auth::SecretKey(settings)});
      token = assistantd::auth::SignJwt(settings, Claims());
    }
  }
  JwtSettings settings;
  KeyRegistry registry;
  assistantd::SystemClock clock;
  std::string token;
};

void Uncached(benchmark::State& state, std::optional<JwsAlgorithm> alg) {
  Fixture f(alg);
  for (auto _ : state) {
    JwtVerifier verifier(f.settings, f.registry, f.clock);  // an empty cache each time
    benchmark::DoNotOptimize(verifier.Verify(f.token));
  }
}

void Cached(benchmark::State& state, std::optional<JwsAlgorithm> alg) {
  Fixture f(alg);
  JwtVerifier verifier(f.settings, f.registry, f.clock);
  for (auto _ : state) benchmark::DoNotOptimize(verifier.Verify(f.token));
}

BENCHMARK_CAPTURE(Uncached, HS256, std::nullopt);
BENCHMARK_CAPTURE(Uncached, ES256, JwsAlgorithm::kES256);
BENCHMARK_CAPTURE(Uncached, RS256, JwsAlgorithm::kRS256);
BENCHMARK_CAPTURE(Cached, HS256, std::nullopt);
BENCHMARK_CAPTURE(Cached, ES256, JwsAlgorithm::kES256);

}  // namespace

BENCHMARK_MAIN();
