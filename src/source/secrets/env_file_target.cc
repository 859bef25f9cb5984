#include "source/secrets/env_file_target.h"

#include <sys/stat.h>

#include "io/file.h"

namespace ward::source {

namespace {

bool ValidKey(const std::string& k) {
  if (k.empty() || isdigit(static_cast<unsigned char>(k[0]))) return false;
  for (char c : k) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> ParseSecretsExport(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    return InvalidArgumentError("the stored file is not JSON: --to-env expects a Vault JSON export "
                                "(vault kv get -format=json) or a flat JSON object");
  }
  const nlohmann::json* vars = &j;
  if (j.is_object() && j.contains("data") && j["data"].is_object()) {
    vars = &j["data"];
    if (vars->contains("data") && (*vars)["data"].is_object() && vars->contains("metadata")) vars = &(*vars)["data"];
  }
  if (!vars->is_object()) return InvalidArgumentError("the secrets export holds no object of variables");
  std::vector<std::pair<std::string, std::string>> out;
  for (auto it = vars->begin(); it != vars->end(); ++it) {
    if (!ValidKey(it.key())) {
      return InvalidArgumentError("secret name '" + it.key() + "' cannot be an environment variable name");
    }
    const auto& v = it.value();
    std::string value;
    if (v.is_string()) {
      value = v.get<std::string>();
    } else if (v.is_number() || v.is_boolean()) {
      value = v.dump();
    } else {
      return InvalidArgumentError("secret '" + it.key() + "' is not a string, number or boolean");
    }
    out.emplace_back(it.key(), value);
  }
  return out;
}

std::string EnvLine(const std::string& key, const std::string& value) {
  bool plain = !value.empty();
  for (char c : value) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '/' || c == ':' ||
          c == '@' || c == '+' || c == ',')) {
      plain = false;
    }
  }
  if (plain) return key + "=" + value + "\n";
  std::string q = "\"";
  for (char c : value) {
    switch (c) {
      case '"': q += "\\\""; break;
      case '\\': q += "\\\\"; break;
      case '$': q += "\\$"; break;
      case '`': q += "\\`"; break;
      case '\n': q += "\\n"; break;
      default: q += c;
    }
  }
  return key + "=" + q + "\"\n";
}

Status EnvFileTarget::RestoreFile(const std::string& path, const repo::Node&, Reader& content) {
  if (!source_file_.empty()) {
    return InvalidArgumentError("--to-env takes one stored file, but the path holds several (" + source_file_ +
                                ", " + path + "): name the file, e.g. SNAPSHOT:secrets/vault.json");
  }
  source_file_ = path;
  std::string text;
  uint8_t buf[65536];
  for (;;) {
    WARD_ASSIGN_OR_RETURN(size_t n, content.Read(buf));
    if (n == 0) break;
    text.append(reinterpret_cast<char*>(buf), n);
    if (text.size() > (64u << 20)) return InvalidArgumentError("the secrets export is larger than 64 MiB");
  }
  auto vars = ParseSecretsExport(text);
  std::fill(text.begin(), text.end(), '\0');
  if (!vars.ok()) return Status(vars.status().code(), path + ": " + vars.status().message());
  std::string env;
  for (const auto& [k, v] : *vars) env += EnvLine(k, v);
  variables_ = vars->size();
  Status s = io::WriteFileAtomic(path_, AsBytes(env), /*no_replace=*/false, 0600);
  std::fill(env.begin(), env.end(), '\0');
  return s;
}

Result<nlohmann::json> EnvFileTarget::Finish() {
  if (source_file_.empty()) return NotFoundError("no file to turn into " + path_ + " under that path");
  return nlohmann::json{{"env_file", path_}, {"from", source_file_}, {"variables", variables_}, {"mode", "0600"}};
}

std::string EnvFileTarget::Summary() const {
  return std::to_string(variables_) + " variable(s) from " + source_file_ + " into " + path_ + " (mode 0600)";
}

}  // namespace ward::source
