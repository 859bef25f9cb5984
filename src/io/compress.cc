#include "io/compress.h"

#include <zstd.h>

namespace ward::io {

namespace {

struct CCtx {
  ZSTD_CCtx* ctx = ZSTD_createCCtx();
  ~CCtx() { ZSTD_freeCCtx(ctx); }
};
struct DCtx {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  ~DCtx() { ZSTD_freeDCtx(ctx); }
};

ZSTD_CCtx* ThreadCCtx() {
  thread_local CCtx c;
  return c.ctx;
}
ZSTD_DCtx* ThreadDCtx() {
  thread_local DCtx d;
  return d.ctx;
}

constexpr size_t kSample = 64 * 1024;
constexpr size_t kMinInput = 64;

}  // namespace

void Compress(ByteView in, int level, Bytes* out) {
  size_t base = out->size();
  out->resize(base + ZSTD_compressBound(in.size()));
  ZSTD_CCtx* ctx = ThreadCCtx();
  ZSTD_CCtx_reset(ctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level);
  size_t n = ZSTD_compress2(ctx, out->data() + base, out->size() - base, in.data(), in.size());
  if (ZSTD_isError(n)) std::abort();  // cannot happen with a compressBound-sized buffer
  out->resize(base + n);
}

bool CompressMaybe(ByteView in, int level, Bytes* out) {
  if (in.size() < kMinInput) return false;
  size_t base = out->size();
  if (in.size() > 4 * kSample) {
    // Probe the middle of the input: headers at the front of a file often
    // compress while the payload does not.
    ByteView sample = in.subspan(in.size() / 2 - kSample / 2, kSample);
    Compress(sample, 1, out);
    size_t got = out->size() - base;
    out->resize(base);
    if (got * 100 > sample.size() * 97) return false;
  }
  Compress(in, level, out);
  if ((out->size() - base) * 100 > in.size() * 97) {
    out->resize(base);
    return false;
  }
  return true;
}

Status Decompress(ByteView in, size_t expected_size, Bytes* out) {
  size_t base = out->size();
  out->resize(base + expected_size);
  size_t n = ZSTD_decompressDCtx(ThreadDCtx(), out->data() + base, expected_size, in.data(), in.size());
  if (ZSTD_isError(n) || n != expected_size) {
    out->resize(base);
    return DataLossError(std::string("zstd frame does not decompress: ") +
                         (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong length"));
  }
  return Status::OK();
}

Status DecompressAny(ByteView in, size_t limit, Bytes* out) {
  unsigned long long size = ZSTD_getFrameContentSize(in.data(), in.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
    return DataLossError("zstd frame without a valid content size");
  }
  if (size > limit) return DataLossError("zstd frame larger than allowed");
  return Decompress(in, size, out);
}

}  // namespace ward::io
