#include <string>

#include "storage/backend.h"
#include "storage/local/local_backend.h"
#include "storage/retry/retry_backend.h"
#include "storage/s3/s3_backend.h"

namespace ward::storage {

Result<std::unique_ptr<Backend>> OpenBackend(const std::string& url, const StorageSettings& settings) {
  std::string path;
  if (url.rfind("local:", 0) == 0) {
    path = url.substr(6);
  } else if (url.rfind("s3:", 0) == 0) {
    // Default options; callers that take S3 flags use s3::OpenS3Backend.
    // Transient S3 failures (5xx, SlowDown, resets) are retried here, so
    // every user of OpenBackend gets the behaviour SPEC section 7 asks for.
    s3::S3Options options;
    if (settings.connections > 0) options.connections = settings.connections;
    auto s3 = s3::OpenS3Backend(url, options);
    if (!s3.ok()) return s3.status();
    WARD_RETURN_IF_ERROR((*s3)->ApplySettings(settings));
    return NewRetryBackend(std::move(*s3));
  } else if (!url.empty() && url.find("://") == std::string::npos &&
             (url.find(':') == std::string::npos || url[0] == '/' || url[0] == '.')) {
    path = url;
  }
  if (path.empty()) {
    return InvalidArgumentError("repository '" + url +
                                "' is not a known form: use /path, local:/path, "
                                "s3:https://host[:port]/bucket[/prefix] or s3:bucket[/prefix]");
  }
  auto local = NewLocalBackend(path);
  WARD_RETURN_IF_ERROR(local->ApplySettings(settings));
  return local;
}

}  // namespace ward::storage
