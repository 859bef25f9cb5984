// EnvFileTarget: turns a stored secrets export back into a .env file (F16).
//
// The snapshot holds the export as a file (typically the output of `vault kv
// get -format=json secret/app`, backed up as a command stream). Restoring it
// with `--to-env FILE` writes KEY=value lines, values quoted when needed, into
// FILE with mode 0600, atomically; the secrets never pass through a log or a
// temporary file readable by others.
// Thread safety: one thread.
#pragma once

#include <string>

#include "source/source.h"

namespace ward::source {

class EnvFileTarget : public RestoreTarget {
 public:
  explicit EnvFileTarget(std::string path) : path_(std::move(path)) {}
  Status RestoreFile(const std::string& path, const repo::Node& node, Reader& content) override;
  Result<nlohmann::json> Finish() override;
  std::string Summary() const override;

 private:
  std::string path_;
  std::string source_file_;
  size_t variables_ = 0;
};

// The variables of a secrets export: Vault KV v2 ({"data":{"data":{...}}}),
// KV v1 ({"data":{...}}) or a flat object. Values must be strings, numbers or
// booleans. kInvalidArgument (naming what was found) otherwise.
Result<std::vector<std::pair<std::string, std::string>>> ParseSecretsExport(const std::string& json_text);

// KEY=value with the value double-quoted and escaped when it is not plain.
std::string EnvLine(const std::string& key, const std::string& value);

}  // namespace ward::source
