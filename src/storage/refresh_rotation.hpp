#pragma once

// Refresh-token rotation, written once for every backend: a security rule (GoTrue's), so it
// must not drift between two copies. Each backend supplies the statements, run inside one
// transaction of its own (and holding the token's row lock where it has row locks).

#include <cstdint>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

struct RefreshTokenState {
  std::string session_id;
  std::optional<int64_t> revoked_at_us;
};

class RefreshRotationSteps {
 public:
  virtual ~RefreshRotationSteps() = default;
  // The token, locked until the transaction ends where the backend can.
  virtual Result<std::optional<RefreshTokenState>> Find(const std::string& token_hash) = 0;
  // Whether a token issued in exchange for this one is still unused.
  virtual Result<bool> HasLiveChild(const std::string& token_hash) = 0;
  virtual Result<void> EndSession(const std::string& session_id) = 0;
  virtual Result<void> Revoke(const std::string& token_hash, int64_t now_us) = 0;
  virtual Result<void> Issue(const std::string& token_hash, const std::string& session_id,
                             const std::string& parent_hash, int64_t now_us) = 0;
  // Marks the session refreshed now and returns it.
  virtual Result<std::optional<AuthSession>> Touch(const std::string& session_id,
                                                   int64_t now_us) = 0;
};

// Exchanges `token_hash` for `new_token_hash`. An unused token is revoked and replaced. A
// token already exchanged is tolerated only within `reuse_interval_us` of its exchange and
// only while the token it was exchanged for is itself unused (a client that lost the answer
// and retried); any other reuse is taken for a stolen token replayed, and ends the whole
// session.
inline Result<RefreshOutcome> RotateRefreshToken(RefreshRotationSteps& steps,
                                                 const std::string& token_hash,
                                                 const std::string& new_token_hash, int64_t now_us,
                                                 int64_t reuse_interval_us) {
  auto token = steps.Find(token_hash);
  if (!token) return tl::unexpected(token.error());
  if (!*token) return RefreshOutcome{RefreshOutcome::Kind::kNotFound, {}};
  const RefreshTokenState state = **token;
  if (state.revoked_at_us) {
    bool tolerated = false;
    if (now_us - *state.revoked_at_us < reuse_interval_us) {
      auto child = steps.HasLiveChild(token_hash);
      if (!child) return tl::unexpected(child.error());
      tolerated = *child;
    }
    if (!tolerated) {
      if (auto r = steps.EndSession(state.session_id); !r) return tl::unexpected(r.error());
      return RefreshOutcome{RefreshOutcome::Kind::kReused, {}};
    }
  } else if (auto r = steps.Revoke(token_hash, now_us); !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = steps.Issue(new_token_hash, state.session_id, token_hash, now_us); !r) {
    return tl::unexpected(r.error());
  }
  auto session = steps.Touch(state.session_id, now_us);
  if (!session) return tl::unexpected(session.error());
  if (!*session) return Internal("refresh token without its session");
  return RefreshOutcome{RefreshOutcome::Kind::kRotated, **session};
}

}  // namespace assistantd::storage
