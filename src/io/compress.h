// zstd compression of blobs and metadata objects.
//
// CompressMaybe() skips data that does not compress: it first compresses a
// 64 KiB sample and stores the whole input raw when the sample saves less than
// 3%, so encrypted, compressed or random inputs cost almost nothing extra.
// Thread safety: functions are thread-safe (compression contexts are per
// thread).
#pragma once

#include "base/bytes.h"
#include "base/status.h"

namespace ward::io {

// zstd level used for data (3 is zstd's default; restic's "auto" matches it).
constexpr int kDefaultLevel = 3;

// Compresses `in` at `level` and appends the frame to *out.
void Compress(ByteView in, int level, Bytes* out);

// Appends zstd(in) to *out and returns true, or appends nothing and returns
// false when `in` is too small or does not compress.
bool CompressMaybe(ByteView in, int level, Bytes* out);

// Decompresses a frame of known decompressed size. kDataLoss if the frame is
// damaged or its size is not `expected_size`.
Status Decompress(ByteView in, size_t expected_size, Bytes* out);

// Decompresses a frame whose size is recorded in the frame (metadata objects),
// refusing anything larger than `limit`.
Status DecompressAny(ByteView in, size_t limit, Bytes* out);

}  // namespace ward::io
