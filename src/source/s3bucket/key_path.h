// Object keys <-> paths in a snapshot tree (internal to source/s3bucket).
//
// An S3 key is any UTF-8 string up to 1024 bytes; a snapshot tree needs
// '/'-separated paths whose components are valid file names, unique within
// their directory. A key relative to the backed-up prefix is split on '/' and
// each component encoded:
//
//   ""          -> "%"        (from "a//b", a leading '/', or a trailing '/')
//   "."         -> "%2E"
//   ".."        -> "%2E%2E"
//   otherwise   '%' -> "%25", NUL -> "%00", everything else unchanged
//
// A key can name an object and, followed by '/', a folder of other objects
// ("a" and "a/b"). The folder keeps the plain name and the object gets a
// trailing '%' ("a%"). Every encoded name is a well-formed percent-encoding
// except for that suffix and for "%" itself, so no two keys ever share a path,
// and DecodePath turns any path back into its key. The original key is also
// stored with each object (xattr "s3.key"); restores check one against the
// other.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ward::source::s3bucket {

// One key component (no '/') as a file name.
std::string EncodeComponent(std::string_view component);

// The reverse of EncodeComponent, plus the trailing-'%' marker of an object
// beside a folder of the same name: "a%" -> "a" with *beside_folder = true.
// kInvalidArgument for a name no key encodes to.
Result<std::string> DecodeComponent(std::string_view name, bool* beside_folder = nullptr);

// The encoded path of each key in `keys` (keys relative to the backed-up
// prefix, in any order, no duplicates), index for index. Keys that are also
// folders of other keys get the '%' suffix on their last component.
std::vector<std::string> KeysToPaths(const std::vector<std::string>& keys);

// The key a path (as KeysToPaths makes them, or any tail of one) stands for.
Result<std::string> DecodePath(std::string_view path);

}  // namespace ward::source::s3bucket
