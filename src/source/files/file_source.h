// FileSource: files and directories of the local file system, as restic
// backs them up. The selected paths are made absolute and the snapshot tree
// mirrors them from the root: backing up /srv/www gives srv/www/... in the
// snapshot, with the metadata of /srv itself on the way. Symlinks on the way
// to a selected path are followed (the snapshot shows the folder behind
// them); a selected path that is itself a symlink is stored as the link,
// unless it was given with a trailing slash ("lnk/"), which means the folder
// behind it.
//
// Thread safety: List/Open from one thread; Readers are independent.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "source/files/pattern.h"
#include "source/source.h"

namespace ward::source {

struct FileSourceOptions {
  std::vector<std::string> paths;     // as the user typed them
  std::vector<std::string> excludes;  // patterns, see pattern.h
  bool one_file_system = false;
};

class FileSource : public Source {
 public:
  // Fails on a bad pattern, if no path is given, or if none of the paths
  // exists. Paths that do not exist are reported when walked (the rest is
  // still backed up).
  static Result<std::unique_ptr<FileSource>> Create(const FileSourceOptions& options);

  Result<std::vector<Entry>> List(const std::string& path, std::vector<Status>* skipped) override;
  Result<std::unique_ptr<Reader>> Open(const std::string& path, const Entry& entry) override;
  bool PartialOk() const override { return true; }
  std::vector<std::string> Paths() const override { return selected_; }
  std::string Kind() const override { return "files"; }

 private:
  FileSource() = default;
  Result<Entry> Stat(const std::string& rel, const std::string& name);
  std::string UserName(uint32_t uid);
  std::string GroupName(uint32_t gid);

  std::vector<std::string> selected_;  // absolute, cleaned, sorted
  std::set<std::string> selected_rel_;  // the same without the leading '/'
  // Paths (relative) whose symlink is followed: every folder on the way to
  // a selected path, and selected paths given with a trailing slash.
  std::set<std::string> follow_;
  PathMatcher excludes_;
  bool one_file_system_ = false;
  std::set<uint64_t> devices_;  // devices of the selected paths
  std::map<uint32_t, std::string> users_, groups_;
};

// Absolute, lexically cleaned form of `path` (relative to the working directory).
std::string CleanAbsolutePath(const std::string& path);

}  // namespace ward::source
