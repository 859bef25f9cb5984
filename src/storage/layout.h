// The repository layout: where each typed handle lives, relative to the
// repository root. Shared by every backend so that a repository copied byte
// for byte between a disk and a bucket stays valid.
//
//   config                  the repository config (one object)
//   keys/<id>               key files
//   data/<id[0:2]>/<id>     pack files, fanned out over 256 directories
//   index/<id>              index files
//   snapshots/<id>          snapshots
//   sessions/<id>           writer sessions (in-flight backups, prunes)
//   plans/<id>              pending deletions (prune's first phase)
//   holds/<id>              legal holds
#pragma once

#include <string>

#include "storage/backend.h"

namespace ward::storage {

// "keys", "data", "index", ... ("" for config).
const char* LayoutDir(FileType t);

// Path of `h` relative to the repository root.
std::string LayoutPath(const Handle& h);

}  // namespace ward::storage
