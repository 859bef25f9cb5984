#include <string>

#include "storage/backend.h"
#include "storage/local/local_backend.h"

namespace ward::storage {

Result<std::unique_ptr<Backend>> OpenBackend(const std::string& url) {
  std::string path;
  if (url.rfind("local:", 0) == 0) {
    path = url.substr(6);
  } else if (url.rfind("s3:", 0) == 0) {
    return UnimplementedError("repository '" + url +
                              "': this build of ward has no S3 backend; use a local path");
  } else if (!url.empty() && url.find("://") == std::string::npos &&
             (url.find(':') == std::string::npos || url[0] == '/' || url[0] == '.')) {
    path = url;
  }
  if (path.empty()) {
    return InvalidArgumentError("repository '" + url +
                                "' is not a known form: use /path, local:/path, "
                                "s3:https://host[:port]/bucket[/prefix] or s3:bucket[/prefix]");
  }
  return NewLocalBackend(path);
}

}  // namespace ward::storage
