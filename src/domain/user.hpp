#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "domain/principal.hpp"

namespace assistantd::domain {

// A user known to assistantd: an account made by sign-up (it has a password hash) or a
// user created on the first request of an external JWT's sub (no password).
struct User {
  std::string id;
  std::optional<std::string> email;  // lower-cased for accounts
  Role role = Role::kUser;
  int64_t created_at_us = 0;
  int64_t updated_at_us = 0;
  std::optional<std::string> password_hash;  // argon2id encoded string; never leaves the server
  std::optional<int64_t> email_confirmed_at_us;
  std::optional<int64_t> last_sign_in_at_us;
  std::optional<int64_t> banned_until_us;
  nlohmann::json user_metadata = nlohmann::json::object();  // the user's own, as Supabase's
  nlohmann::json app_metadata = nlohmann::json::object();   // admin-set keys
  std::optional<std::string> display_name;                  // profile
  nlohmann::json preferences = nlohmann::json::object();    // profile
};

// A user with no account details yet, created and updated at `now_us`.
inline User MakeUser(std::string id, std::optional<std::string> email, Role role, int64_t now_us) {
  User u;
  u.id = std::move(id);
  u.email = std::move(email);
  u.role = role;
  u.created_at_us = now_us;
  u.updated_at_us = now_us;
  return u;
}

// True while a ban is in force.
inline bool IsBanned(const User& user, int64_t now_us) {
  return user.banned_until_us && *user.banned_until_us > now_us;
}

}  // namespace assistantd::domain
