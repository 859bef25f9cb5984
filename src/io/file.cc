#include "io/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "io/process.h"

namespace ward::io {

void UniqueFd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status UniqueFd::Close(const std::string& path) {
  int f = Release();
  if (f >= 0 && ::close(f) != 0) return ErrnoStatus(errno, path);
  return Status::OK();
}

Result<UniqueFd> OpenRead(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, path);
  return UniqueFd(fd);
}

Result<size_t> PreadFull(int fd, uint8_t* buf, size_t n, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, path);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

Result<size_t> ReadFull(int fd, uint8_t* buf, size_t n, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::read(fd, buf + done, n - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, path);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

Status WriteAll(int fd, ByteView data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w = ::write(fd, data.data() + done, data.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, path);
    }
    done += static_cast<size_t>(w);
  }
  return Status::OK();
}

Status PwriteAll(int fd, ByteView data, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, path);
    }
    done += static_cast<size_t>(w);
  }
  return Status::OK();
}

Result<Bytes> ReadWholeFile(const std::string& path) {
  WARD_ASSIGN_OR_RETURN(UniqueFd fd, OpenRead(path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, path);
  Bytes out;
  size_t cap = st.st_size > 0 ? static_cast<size_t>(st.st_size) : 4096;
  for (;;) {
    size_t old = out.size();
    out.resize(old + cap);
    WARD_ASSIGN_OR_RETURN(size_t n, ReadFull(fd.get(), out.data() + old, cap, path));
    out.resize(old + n);
    if (n < cap) break;
    cap = 1 << 16;
  }
  return out;
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, dir);
  int r = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (r != 0 && err != EINVAL) return ErrnoStatus(err, dir);
  return Status::OK();
}

Status WriteFileAtomic(const std::string& path, ByteView data, bool no_replace, int mode) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  // The owner in the name lets a cleaner tell a killed writer's leftover
  // from a file being written (io/process.h).
  std::string tmp = path + ".tmp-" + TempOwnerTag() + "-XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, path);
  ::fchmod(fd, static_cast<mode_t>(mode));
  UniqueFd owned(fd);
  Status s = WriteAll(fd, data, path);
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus(errno, path);
  if (s.ok()) s = owned.Close(path);
  if (s.ok()) {
    if (no_replace) {
      // link() fails with EEXIST instead of replacing: never overwrite.
      if (::link(tmp.c_str(), path.c_str()) != 0) s = ErrnoStatus(errno, path);
      ::unlink(tmp.c_str());
    } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
      s = ErrnoStatus(errno, path);
    }
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return FsyncDir(dir);
}

Status MakeDirs(const std::string& path, int mode) {
  if (path.empty()) return Status::OK();
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::OK();
    return AlreadyExistsError(path + ": exists and is not a directory");
  }
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) WARD_RETURN_IF_ERROR(MakeDirs(path.substr(0, slash), mode));
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return ErrnoStatus(errno, path);
  return Status::OK();
}

}  // namespace ward::io
