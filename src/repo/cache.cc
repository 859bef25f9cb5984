#include "repo/cache.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>

#include "crypto/crypto.h"
#include "io/file.h"
#include "storage/layout.h"

namespace ward::repo {

ObjectCache::ObjectCache(std::string dir, const std::string& repo_id) {
  if (dir.empty()) return;
  if (!io::MakeDirs(dir, 0700).ok()) return;  // an unwritable cache is no cache, not an error
  std::string tag = dir + "/CACHEDIR.TAG";
  if (::access(tag.c_str(), F_OK) != 0) {
    io::WriteFileAtomic(tag, AsBytes("Signature: 8a477f597d28d172789f06886806bc55\n# ward cache\n"),
                        false)
        .IgnoreError();
  }
  root_ = dir + "/" + repo_id;
}

std::string ObjectCache::Path(const storage::Handle& h) const {
  return root_ + "/" + storage::LayoutPath(h);
}

std::optional<Bytes> ObjectCache::Get(const storage::Handle& h) {
  if (!enabled()) return std::nullopt;
  std::string path = Path(h);
  auto data = io::ReadWholeFile(path);
  if (!data.ok()) return std::nullopt;
  if (crypto::Sha256(*data).Hex() != h.name) {
    ::unlink(path.c_str());
    return std::nullopt;
  }
  return std::move(*data);
}

std::optional<Bytes> ObjectCache::GetRange(const storage::Handle& h, uint64_t offset, uint64_t length) {
  if (!enabled()) return std::nullopt;
  std::string path = Path(h);
  auto fd = io::OpenRead(path);
  if (!fd.ok()) return std::nullopt;
  Bytes out(length);
  auto n = io::PreadFull(fd->get(), out.data(), length, offset, path);
  if (!n.ok() || *n != length) return std::nullopt;
  return out;
}

void ObjectCache::Drop(const storage::Handle& h) {
  if (enabled()) ::unlink(Path(h).c_str());
}

void ObjectCache::Put(const storage::Handle& h, ByteView data) {
  if (!enabled()) return;
  std::string path = Path(h);
  if (!io::MakeDirs(path.substr(0, path.rfind('/')), 0700).ok()) return;
  io::WriteFileAtomic(path, data, false, 0600).IgnoreError();
}

void ObjectCache::Retain(storage::FileType t, const std::set<std::string>& keep) {
  if (!enabled()) return;
  auto clean = [&](const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    std::vector<std::string> drop;
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (storage::IsValidName(n) && !keep.count(n)) drop.push_back(dir + "/" + n);
    }
    ::closedir(d);
    for (const auto& p : drop) ::unlink(p.c_str());
  };
  std::string dir = root_ + "/" + storage::LayoutDir(t);
  if (t != storage::FileType::kPack) {
    clean(dir);
    return;
  }
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> subs;
  while (struct dirent* e = ::readdir(d)) {
    if (std::string(e->d_name).size() == 2 && e->d_name[0] != '.') subs.push_back(e->d_name);
  }
  ::closedir(d);
  for (const auto& s : subs) clean(dir + "/" + s);
}

std::string DefaultCacheDir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/ward";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/ward";
  return "";
}

}  // namespace ward::repo
