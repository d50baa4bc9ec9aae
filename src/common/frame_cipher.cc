#include "common/frame_cipher.h"

#include <openssl/evp.h>

#include <memory>

namespace sluice {
namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

constexpr size_t kNonce = 12;

void NonceOf(uint64_t index, unsigned char nonce[kNonce]) {
  for (int i = 0; i < 4; ++i) nonce[i] = 0;
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<unsigned char>(index >> (56 - 8 * i));
}

void AadOf(uint64_t index, bool last, unsigned char aad[9]) {
  for (int i = 0; i < 8; ++i) aad[i] = static_cast<unsigned char>(index >> (56 - 8 * i));
  aad[8] = last ? 1 : 0;
}

const unsigned char* U(const char* p) { return reinterpret_cast<const unsigned char*>(p); }
unsigned char* U(char* p) { return reinterpret_cast<unsigned char*>(p); }

}  // namespace

void FrameCipher::Seal(uint64_t index, bool last, const char* in, size_t n, char* out) const {
  unsigned char nonce[kNonce], aad[9];
  NonceOf(index, nonce);
  AadOf(index, last, aad);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  // Failures here are allocation failures inside OpenSSL: no tag would be written, and the
  // frame then fails to open on every read (kCorruption), never silently wrong.
  EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key_.data()), nonce);
  EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad, sizeof aad);
  EVP_EncryptUpdate(ctx.get(), U(out), &len, U(in), static_cast<int>(n));
  EVP_EncryptFinal_ex(ctx.get(), U(out) + len, &len);
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, U(out) + n);
}

Status FrameCipher::Open(uint64_t index, bool last, const char* in, size_t n, char* out) const {
  if (n < kTag || n > kFrameStored)
    return Status(Err::kCorruption, "an encrypted frame has an impossible size");
  unsigned char nonce[kNonce], aad[9];
  NonceOf(index, nonce);
  AadOf(index, last, aad);
  const size_t plain = n - kTag;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Status(Err::kInternal, "out of memory for a cipher context");
  int len = 0;
  unsigned char tag[kTag];
  std::copy(in + plain, in + n, tag);
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key_.data()), nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad, sizeof aad) != 1 ||
      EVP_DecryptUpdate(ctx.get(), U(out), &len, U(in), static_cast<int>(plain)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), U(out) + len, &len) != 1)
    return Status(Err::kCorruption,
                  "an encrypted frame failed to authenticate (altered, or another key)");
  return Status::Ok();
}

uint64_t FrameCipher::StoredSize(uint64_t plain) {
  const uint64_t frames = (plain + kFramePlain - 1) / kFramePlain;
  return plain + frames * kTag;
}

uint64_t FrameCipher::PlainSize(uint64_t stored) {
  const uint64_t full = stored / kFrameStored, rest = stored % kFrameStored;
  if (rest != 0 && rest <= kTag) return UINT64_MAX;  // a frame with no room for its tag
  return full * kFramePlain + (rest ? rest - kTag : 0);
}

}  // namespace sluice
