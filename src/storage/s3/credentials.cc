#include "storage/s3/credentials.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "io/file.h"

namespace ward::storage::s3 {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<std::string> NonEmpty(const EnvLookup& env, const std::string& name) {
  auto v = env(name);
  if (!v || v->empty()) return std::nullopt;
  return v;
}

std::string HomeDir(const EnvLookup& env) {
  if (auto home = NonEmpty(env, "HOME")) return *home;
  struct passwd pw, *result = nullptr;
  char buf[4096];
  if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &result) == 0 && result != nullptr) {
    return result->pw_dir;
  }
  return "";
}

std::optional<std::string> Lookup(const std::vector<std::pair<std::string, std::string>>& kv,
                                  std::string_view key) {
  for (const auto& [k, v] : kv) {
    if (k == key) return v;
  }
  return std::nullopt;
}

}  // namespace

std::string Credentials::Describe() const {
  return "access key " + access_key_id + " from " + source;
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::optional<std::vector<std::pair<std::string, std::string>>> ParseAwsIniSection(
    std::string_view text, std::string_view profile, bool config_file_syntax) {
  std::string want(profile);
  if (config_file_syntax && profile != "default") want = "profile " + want;
  bool in_section = false, found = false;
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      size_t close = line.find(']');
      if (close == std::string_view::npos) {
        in_section = false;
        continue;
      }
      // "[profile   x]" and "[ x ]" are both seen in the wild: normalise spaces.
      std::string_view name = Trim(line.substr(1, close - 1));
      std::string normalised;
      if (name.substr(0, 8) == "profile " || name.substr(0, 8) == "profile\t") {
        normalised = "profile " + std::string(Trim(name.substr(8)));
      } else {
        normalised = std::string(name);
      }
      in_section = normalised == want;
      found |= in_section;
      continue;
    }
    if (!in_section) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key = Lower(Trim(line.substr(0, eq)));
    std::string value(Trim(line.substr(eq + 1)));
    // Later definitions of a key override earlier ones, as in the AWS CLI.
    bool replaced = false;
    for (auto& [k, v] : out) {
      if (k == key) {
        v = value;
        replaced = true;
      }
    }
    if (!replaced) out.emplace_back(std::move(key), std::move(value));
  }
  if (!found) return std::nullopt;
  return out;
}

Result<Credentials> LoadCredentials(const EnvLookup& env) {
  auto id = NonEmpty(env, "AWS_ACCESS_KEY_ID");
  auto secret = NonEmpty(env, "AWS_SECRET_ACCESS_KEY");
  if (id && secret) {
    Credentials c;
    c.access_key_id = *id;
    c.secret_access_key = *secret;
    c.session_token = NonEmpty(env, "AWS_SESSION_TOKEN").value_or("");
    c.source = "environment";
    return c;
  }
  if (id || secret) {
    return FailedPreconditionError(std::string(id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") +
                                   " is set but " +
                                   (id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID") +
                                   " is not: set both, or neither to use AWS_PROFILE");
  }

  std::string profile = NonEmpty(env, "AWS_PROFILE").value_or("default");
  std::string path;
  if (auto f = NonEmpty(env, "AWS_SHARED_CREDENTIALS_FILE")) {
    path = *f;
  } else {
    std::string home = HomeDir(env);
    path = home.empty() ? std::string() : home + "/.aws/credentials";
  }
  const std::string how =
      "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE naming a profile in "
      "~/.aws/credentials (or AWS_SHARED_CREDENTIALS_FILE)";
  if (path.empty()) return FailedPreconditionError("no S3 credentials: " + how);
  auto text = io::ReadWholeFile(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return FailedPreconditionError("no S3 credentials (no environment variables, and " + path +
                                     " does not exist): " + how);
    }
    return FailedPreconditionError("cannot read S3 credentials: " + text.status().message());
  }
  auto section = ParseAwsIniSection(AsString(*text), profile, /*config_file_syntax=*/false);
  if (!section) {
    return FailedPreconditionError("no profile '" + profile + "' in " + path + ": " + how);
  }
  auto file_id = Lookup(*section, "aws_access_key_id");
  auto file_secret = Lookup(*section, "aws_secret_access_key");
  if (!file_id || file_id->empty() || !file_secret || file_secret->empty()) {
    return FailedPreconditionError("profile '" + profile + "' in " + path +
                                   " lacks aws_access_key_id or aws_secret_access_key");
  }
  Credentials c;
  c.access_key_id = *file_id;
  c.secret_access_key = *file_secret;
  c.session_token = Lookup(*section, "aws_session_token").value_or("");
  c.source = "profile '" + profile + "' in " + path;
  return c;
}

std::string LoadRegion(const EnvLookup& env) {
  if (auto r = NonEmpty(env, "AWS_DEFAULT_REGION")) return *r;
  if (auto r = NonEmpty(env, "AWS_REGION")) return *r;
  std::string path;
  if (auto f = NonEmpty(env, "AWS_CONFIG_FILE")) {
    path = *f;
  } else {
    std::string home = HomeDir(env);
    if (!home.empty()) path = home + "/.aws/config";
  }
  if (!path.empty()) {
    auto text = io::ReadWholeFile(path);
    if (text.ok()) {
      std::string profile = NonEmpty(env, "AWS_PROFILE").value_or("default");
      auto section = ParseAwsIniSection(AsString(*text), profile, /*config_file_syntax=*/true);
      if (section) {
        if (auto r = Lookup(*section, "region"); r && !r->empty()) return *r;
      }
    }
  }
  return "us-east-1";
}

}  // namespace ward::storage::s3
