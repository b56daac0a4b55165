#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace assistantd::config {

// What a deployment is for (--profile). `production` refuses to start on unsafe settings and
// refuses test-role tokens unless --allow-test-role; `staging` warns about the same
// settings; `development` (and no profile) checks nothing. A database serves one profile: the
// first server with a profile records it, and a server with another profile refuses it.
enum class Profile { kNone, kDevelopment, kStaging, kProduction };

Result<Profile> ParseProfile(const std::string& name);
const char* ToString(Profile profile);

struct Finding {
  bool error = false;  // production refuses to start (in staging: a warning like the others)
  std::string code;    // stable: generated_secret, open_signup, public_listener, …
  std::string message;
};

// Every unsafe or doubtful setting of `config` for `profile`, errors first; empty for
// development and no profile.
std::vector<Finding> CheckDeployment(const ServeConfig& config, Profile profile);

// Whether tokens carrying the test role are accepted.
bool TestRoleAllowed(const ServeConfig& config, Profile profile);

}  // namespace assistantd::config
