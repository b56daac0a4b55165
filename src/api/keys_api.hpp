#pragma once

#include "auth/secret_box.hpp"
#include "common/clock.hpp"
#include "http/router.hpp"
#include "storage/storage.hpp"

namespace assistantd::api {

// PUT/GET/DELETE /v1/config/vapi-key: a user's own Vapi key, or with ?scope=global (admins)
// the global one. Write-only: reads answer only a masked form.
class KeysApi {
 public:
  KeysApi(storage::KeyStore& keys, const auth::SecretBox& box, const Clock& clock)
      : keys_(keys), box_(box), clock_(clock) {}

  void Register(http::Router& router);
  Result<http::Response> Put(http::RequestContext& ctx);
  Result<http::Response> Get(http::RequestContext& ctx);
  Result<http::Response> Delete(http::RequestContext& ctx);

 private:
  storage::KeyStore& keys_;
  const auth::SecretBox& box_;
  const Clock& clock_;
};

}  // namespace assistantd::api
