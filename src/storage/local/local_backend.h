// LocalBackend: a repository in a directory on a local (or mounted) file
// system. Objects are files laid out as layout.h says.
//
// Save writes to a temporary file in the target directory, fsyncs it, and
// link()s it into place: link fails with EEXIST rather than replace, so an
// object is never overwritten, and a crash leaves at most a temporary file
// (ignored by List, since its name is not a valid object name). Files are made
// read-only (0400) and the repository directory private (0700).
// Thread safety: all methods are thread-safe.
#pragma once

#include <memory>
#include <string>

#include "storage/backend.h"

namespace ward::storage {

std::unique_ptr<Backend> NewLocalBackend(const std::string& root);

}  // namespace ward::storage
