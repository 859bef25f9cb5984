// POSIX file helpers: the only place (besides the local backend and the file
// source) where ward calls the file system directly.
//
// Every function returns a Status naming the path and the errno meaning, so
// callers can pass it straight to the user. Thread safety: all functions are
// thread-safe; a UniqueFd is owned by one thread at a time.
#pragma once

#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace ward::io {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.Release();
    }
    return *this;
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void Reset();
  // Closes and reports the error close() returns (for written files).
  Status Close(const std::string& path);

 private:
  int fd_ = -1;
};

Result<UniqueFd> OpenRead(const std::string& path);

// Reads up to `n` bytes at `offset`; short only at end of file.
Result<size_t> PreadFull(int fd, uint8_t* buf, size_t n, uint64_t offset, const std::string& path);
// Reads up to `n` bytes from the current position; short only at end of file.
Result<size_t> ReadFull(int fd, uint8_t* buf, size_t n, const std::string& path);
Status WriteAll(int fd, ByteView data, const std::string& path);
Status PwriteAll(int fd, ByteView data, uint64_t offset, const std::string& path);

Result<Bytes> ReadWholeFile(const std::string& path);

// Writes `data` to a temporary file beside `path`, fsyncs it and moves it into
// place. With `no_replace`, an existing `path` is never replaced: the call
// fails with kAlreadyExists. The temporary file never survives a failure.
Status WriteFileAtomic(const std::string& path, ByteView data, bool no_replace, int mode = 0644);

// mkdir -p; kAlreadyExists is not an error.
Status MakeDirs(const std::string& path, int mode = 0755);

Status FsyncDir(const std::string& dir);

}  // namespace ward::io
