#include "crypto/crypto.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <cstring>
#include <mutex>

#include <fmt/format.h>

namespace ward::crypto {

Status Init() {
  if (sodium_init() < 0) return InternalError("libsodium failed to initialise");
  return Status::OK();
}

void RandomBytes(std::span<uint8_t> out) {
  if (!out.empty()) randombytes_buf(out.data(), out.size());
}

Bytes RandomBytes(size_t n) {
  Bytes b(n);
  RandomBytes(b);
  return b;
}

Id RandomId() {
  Id id;
  RandomBytes(id.bytes);
  return id;
}

Key Key::FromBytes(ByteView b) {
  Key k;
  std::memcpy(k.bytes_.data(), b.data(), kKeySize);
  return k;
}

Key Key::Random() {
  Key k;
  RandomBytes(k.bytes_);
  return k;
}

Key::~Key() { sodium_memzero(bytes_.data(), bytes_.size()); }

namespace {

// One cipher context per thread, reused across calls.
struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

EVP_CIPHER_CTX* ThreadCipher() {
  thread_local CipherCtx c;
  return c.ctx;
}

// XChaCha20 subkey and 96-bit nonce for ChaCha20-Poly1305 (IETF).
void XSubkey(const Key& key, const uint8_t* nonce, uint8_t subkey[32], uint8_t nonce12[12]) {
  crypto_core_hchacha20(subkey, nonce, key.data(), nullptr);
  std::memset(nonce12, 0, 4);
  std::memcpy(nonce12 + 4, nonce + 16, 8);
}

}  // namespace

void Seal(const Key& key, ByteView plaintext, Bytes* out) {
  size_t base = out->size();
  out->resize(base + kNonceSize + plaintext.size() + kTagSize);
  uint8_t* nonce = out->data() + base;
  RandomBytes(std::span<uint8_t>(nonce, kNonceSize));
  uint8_t subkey[32], nonce12[12];
  XSubkey(key, nonce, subkey, nonce12);

  EVP_CIPHER_CTX* ctx = ThreadCipher();
  int len = 0;
  bool ok = EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, subkey, nonce12) == 1;
  uint8_t* ct = nonce + kNonceSize;
  // EVP takes int lengths: feed large inputs in pieces.
  size_t done = 0;
  while (ok && done < plaintext.size()) {
    int n = static_cast<int>(std::min<size_t>(plaintext.size() - done, 1 << 30));
    ok = EVP_EncryptUpdate(ctx, ct + done, &len, plaintext.data() + done, n) == 1;
    done += n;
  }
  ok = ok && EVP_EncryptFinal_ex(ctx, ct + done, &len) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTagSize, ct + done) == 1;
  sodium_memzero(subkey, sizeof subkey);
  if (!ok) {
    // Only reachable on memory exhaustion inside OpenSSL; never store plaintext.
    std::abort();
  }
}

void SealInPlace(const Key& key, Bytes* buf, size_t offset) {
  uint8_t* nonce = buf->data() + offset;
  RandomBytes(std::span<uint8_t>(nonce, kNonceSize));
  uint8_t subkey[32], nonce12[12];
  XSubkey(key, nonce, subkey, nonce12);
  size_t start = offset + kNonceSize;
  size_t n = buf->size() - start;
  EVP_CIPHER_CTX* ctx = ThreadCipher();
  int len = 0;
  bool ok = EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, subkey, nonce12) == 1;
  size_t done = 0;
  while (ok && done < n) {
    int part = static_cast<int>(std::min<size_t>(n - done, 1 << 30));
    uint8_t* p = buf->data() + start + done;
    ok = EVP_EncryptUpdate(ctx, p, &len, p, part) == 1;
    done += part;
  }
  uint8_t tag[kTagSize];
  ok = ok && EVP_EncryptFinal_ex(ctx, tag, &len) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTagSize, tag) == 1;
  sodium_memzero(subkey, sizeof subkey);
  if (!ok) std::abort();  // see Seal
  buf->insert(buf->end(), tag, tag + kTagSize);
}

Status Open(const Key& key, ByteView sealed, Bytes* out) {
  if (sealed.size() < kSealOverhead) return DataLossError("sealed data is truncated");
  size_t n = sealed.size() - kSealOverhead;
  const uint8_t* nonce = sealed.data();
  const uint8_t* ct = nonce + kNonceSize;
  uint8_t tag[kTagSize];
  std::memcpy(tag, ct + n, kTagSize);
  uint8_t subkey[32], nonce12[12];
  XSubkey(key, nonce, subkey, nonce12);

  size_t base = out->size();
  out->resize(base + n);
  EVP_CIPHER_CTX* ctx = ThreadCipher();
  int len = 0;
  bool ok = EVP_DecryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, subkey, nonce12) == 1;
  size_t done = 0;
  while (ok && done < n) {
    int part = static_cast<int>(std::min<size_t>(n - done, 1 << 30));
    ok = EVP_DecryptUpdate(ctx, out->data() + base + done, &len, ct + done, part) == 1;
    done += part;
  }
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTagSize, tag) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx, out->data() + base + done, &len) == 1;
  sodium_memzero(subkey, sizeof subkey);
  if (!ok) {
    sodium_memzero(out->data() + base, n);
    out->resize(base);
    return DataLossError("authentication failed: data was altered, truncated or sealed with another key");
  }
  return Status::OK();
}

struct BlobMac::State {
  EVP_MD_CTX* inner = EVP_MD_CTX_new();
  EVP_MD_CTX* outer = EVP_MD_CTX_new();
  ~State() {
    EVP_MD_CTX_free(inner);
    EVP_MD_CTX_free(outer);
  }
};

BlobMac::BlobMac(const Key& key) : state_(std::make_unique<State>()) {
  // HMAC(k, m) = H((k ^ opad) || H((k ^ ipad) || m)); both prefixes fill one
  // SHA-256 block, so their hash states are computed once here.
  uint8_t ipad[64], opad[64];
  for (size_t i = 0; i < 64; ++i) {
    uint8_t k = i < kKeySize ? key.data()[i] : 0;
    ipad[i] = k ^ 0x36;
    opad[i] = k ^ 0x5c;
  }
  EVP_DigestInit_ex(state_->inner, EVP_sha256(), nullptr);
  EVP_DigestUpdate(state_->inner, ipad, 64);
  EVP_DigestInit_ex(state_->outer, EVP_sha256(), nullptr);
  EVP_DigestUpdate(state_->outer, opad, 64);
  sodium_memzero(ipad, sizeof ipad);
  sodium_memzero(opad, sizeof opad);
}

BlobMac::~BlobMac() = default;

namespace {
struct MdCtx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~MdCtx() { EVP_MD_CTX_free(ctx); }
};
}  // namespace

Id BlobMac::Sum(ByteView data) const {
  thread_local MdCtx tmp;
  uint8_t inner_digest[32];
  unsigned int len = 0;
  EVP_MD_CTX_copy_ex(tmp.ctx, state_->inner);
  EVP_DigestUpdate(tmp.ctx, data.data(), data.size());
  EVP_DigestFinal_ex(tmp.ctx, inner_digest, &len);
  EVP_MD_CTX_copy_ex(tmp.ctx, state_->outer);
  EVP_DigestUpdate(tmp.ctx, inner_digest, sizeof inner_digest);
  Id id;
  EVP_DigestFinal_ex(tmp.ctx, id.bytes.data(), &len);
  return id;
}

Id Sha256(ByteView data) {
  Id id;
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), id.bytes.data(), &len, EVP_sha256(), nullptr);
  return id;
}

struct Sha256Stream::State {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256Stream::Sha256Stream() : state_(std::make_unique<State>()) {
  EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr);
}
Sha256Stream::~Sha256Stream() = default;
void Sha256Stream::Update(ByteView data) { EVP_DigestUpdate(state_->ctx, data.data(), data.size()); }
Id Sha256Stream::Finish() {
  Id id;
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, id.bytes.data(), &len);
  return id;
}

KdfParams DefaultKdfParams() {
  KdfParams p;
  p.salt = RandomBytes(crypto_pwhash_SALTBYTES);
  return p;
}

Status CheckKdfParams(const KdfParams& params) {
  if (params.algorithm != "argon2id") {
    return InvalidArgumentError("unknown key derivation '" + params.algorithm + "'");
  }
  if (params.salt.size() != crypto_pwhash_SALTBYTES) {
    return InvalidArgumentError(fmt::format("key derivation salt of {} bytes (not {})", params.salt.size(),
                                            crypto_pwhash_SALTBYTES));
  }
  if (params.ops < crypto_pwhash_OPSLIMIT_MIN || params.ops > 64) {
    return InvalidArgumentError(fmt::format("key derivation passes {} out of range [{}, 64]", params.ops,
                                            crypto_pwhash_OPSLIMIT_MIN));
  }
  if (params.memory < 8192 || params.memory > (4ull << 30)) {
    return InvalidArgumentError(fmt::format("key derivation memory {} out of range [8 KiB, 4 GiB]", params.memory));
  }
  return Status::OK();
}

Result<Key> DeriveKey(std::string_view password, const KdfParams& params) {
  WARD_RETURN_IF_ERROR(CheckKdfParams(params));
  uint8_t out[kKeySize];
  if (crypto_pwhash(out, sizeof out, password.data(), password.size(), params.salt.data(),
                    params.ops, params.memory, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return ResourceExhaustedError("Argon2id needs " + FormatBytes(params.memory) +
                                  " of memory, which could not be allocated");
  }
  Key k = Key::FromBytes(ByteView(out, sizeof out));
  sodium_memzero(out, sizeof out);
  return k;
}

bool Equal(ByteView a, ByteView b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ward::crypto
