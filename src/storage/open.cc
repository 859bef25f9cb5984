#include <string>

#include "storage/backend.h"
#include "storage/local/local_backend.h"
#include "storage/retry/retry_backend.h"
#include "storage/s3/s3_backend.h"

namespace ward::storage {

Result<std::unique_ptr<Backend>> OpenBackend(const std::string& url) {
  std::string path;
  if (url.rfind("local:", 0) == 0) {
    path = url.substr(6);
  } else if (url.rfind("s3:", 0) == 0) {
    // Default options; callers that take S3 flags use s3::OpenS3Backend.
    // Transient S3 failures (5xx, SlowDown, resets) are retried here, so
    // every user of OpenBackend gets the behaviour SPEC section 7 asks for.
    auto s3 = s3::OpenS3Backend(url, s3::S3Options{});
    if (!s3.ok()) return s3.status();
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
  return NewLocalBackend(path);
}

}  // namespace ward::storage
