#include "common/sha256.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/encoding.hpp"

namespace assistantd {
namespace {

std::string Hex(const unsigned char (&digest)[SHA256_DIGEST_LENGTH]) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return Hex(digest);
}

struct Sha256Stream::State {
  State() : ctx(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~State() { EVP_MD_CTX_free(ctx); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  EVP_MD_CTX* ctx;
};

Sha256Stream::Sha256Stream() : state_(std::make_unique<State>()) {}
Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::Update(std::string_view data) {
  EVP_DigestUpdate(state_->ctx, data.data(), data.size());
}

std::string Sha256Stream::HexDigest() {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  unsigned int size = 0;
  EVP_DigestFinal_ex(state_->ctx, digest, &size);
  return Hex(digest);
}

}  // namespace assistantd
