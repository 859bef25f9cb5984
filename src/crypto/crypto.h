// ward's cryptographic primitives: the only module that touches key bytes.
//
//   Seal/Open   XChaCha20-Poly1305 (IETF) authenticated encryption. Every
//               stored byte of a repository is sealed: nonce(24) || ciphertext
//               || tag(16). The 192-bit random nonce makes nonce reuse
//               negligible for any number of objects under one key.
//   BlobMac     HMAC-SHA-256 under the repository's ID key: blob IDs are keyed
//               hashes, so a stored ID reveals nothing about plaintext.
//   Sha256      plain SHA-256, for names of stored objects (hash of the
//               ciphertext, checkable without a key).
//   DeriveKey   Argon2id password hashing, for key files.
//
// The XChaCha20 construction derives a subkey with HChaCha20 (libsodium) and
// runs OpenSSL's ChaCha20-Poly1305, whose AVX-512 code is about 3x faster than
// libsodium's here; the output is byte-identical to libsodium's
// crypto_aead_xchacha20poly1305_ietf (the unit tests check this).
//
// Thread safety: all functions are thread-safe; a BlobMac may be shared.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace ward::crypto {

constexpr size_t kKeySize = 32;
constexpr size_t kNonceSize = 24;
constexpr size_t kTagSize = 16;
constexpr size_t kSealOverhead = kNonceSize + kTagSize;

// Must be called once before anything else here (initialises libsodium).
Status Init();

void RandomBytes(std::span<uint8_t> out);
Bytes RandomBytes(size_t n);
Id RandomId();

// A 256-bit secret key, wiped from memory when destroyed.
class Key {
 public:
  Key() = default;
  static Key FromBytes(ByteView b);  // b.size() == kKeySize
  static Key Random();
  ~Key();
  Key(const Key&) = default;
  Key& operator=(const Key&) = default;

  const uint8_t* data() const { return bytes_.data(); }
  ByteView view() const { return bytes_; }
  bool operator==(const Key& o) const { return bytes_ == o.bytes_; }

 private:
  std::array<uint8_t, kKeySize> bytes_{};
};

// Appends nonce || ciphertext || tag of `plaintext` to *out.
void Seal(const Key& key, ByteView plaintext, Bytes* out);
// Seals in place: (*buf)[offset, offset + kNonceSize) is overwritten with a
// fresh nonce, the bytes after it are encrypted where they are, and the tag
// is appended. Same output as Seal of those bytes, without a copy.
void SealInPlace(const Key& key, Bytes* buf, size_t offset);
// Opens what Seal produced. kDataLoss if the data was truncated or altered or
// sealed under another key. The plaintext is appended to *out.
Status Open(const Key& key, ByteView sealed, Bytes* out);

// HMAC-SHA-256 with a fixed key, precomputed once for speed on small inputs.
class BlobMac {
 public:
  explicit BlobMac(const Key& key);
  ~BlobMac();
  BlobMac(const BlobMac&) = delete;
  BlobMac& operator=(const BlobMac&) = delete;

  Id Sum(ByteView data) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

Id Sha256(ByteView data);

// Incremental SHA-256 over data that arrives in pieces.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(ByteView data);
  Id Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct KdfParams {
  std::string algorithm = "argon2id";
  uint64_t ops = 3;                 // Argon2 passes
  uint64_t memory = 64ull << 20;    // bytes
  Bytes salt;                       // 16 bytes
};

// Defaults for new keys: Argon2id, 3 passes, 64 MiB (about 0.2 s here).
KdfParams DefaultKdfParams();

// kInvalidArgument naming the field when `params` are not ones DeriveKey
// accepts (an unknown algorithm, a salt of the wrong size, passes or memory
// out of range).
Status CheckKdfParams(const KdfParams& params);

// Derives a 256-bit key from a password. kInvalidArgument for an unknown
// algorithm or out-of-range parameters (a damaged or hostile key file);
// kResourceExhausted if the memory cannot be allocated.
Result<Key> DeriveKey(std::string_view password, const KdfParams& params);

// Constant-time comparison.
bool Equal(ByteView a, ByteView b);

}  // namespace ward::crypto
