// S3 credentials and region, found the way the AWS CLI finds them.
//
// Credentials, first match wins:
//   1. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for
//      temporary credentials) from the environment;
//   2. the profile AWS_PROFILE (default "default") in the shared credentials
//      file AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials).
// Region: AWS_DEFAULT_REGION, else AWS_REGION, else the profile's `region`
// in AWS_CONFIG_FILE (default ~/.aws/config), else us-east-1.
//
// Secrets: a Credentials value never formats its secret or token into a
// string (there is no operator<<; Describe() names only the key ID and where
// it came from), and no error message here quotes a secret or a file's
// contents. The environment is read through an injectable lookup so tests do
// not touch the process environment.
//
// Thread safety: pure functions over their inputs; a Credentials is a value.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace ward::storage::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
  std::string source;         // "environment" or "profile 'x' in /root/.aws/credentials"

  // "access key AKIA... from environment": safe to show to users.
  std::string Describe() const;
};

// Returns the value of an environment variable, or nullopt if unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment (getenv).
EnvLookup ProcessEnv();

// Parses an AWS INI file (credentials or config) and returns the key/values of
// `section`, or nullopt if the section does not exist. Keys are lower-cased;
// '#' and ';' start comments on their own lines; values are trimmed.
// In a config file, profiles other than "default" are written "[profile x]";
// pass config_file_syntax = true to look them up that way.
std::optional<std::vector<std::pair<std::string, std::string>>> ParseAwsIniSection(
    std::string_view text, std::string_view profile, bool config_file_syntax);

// Finds credentials as described above. kFailedPrecondition (naming what was
// looked at and how to fix it) if there are none or they are incomplete.
Result<Credentials> LoadCredentials(const EnvLookup& env);

// Finds the region as described above.
std::string LoadRegion(const EnvLookup& env);

}  // namespace ward::storage::s3
