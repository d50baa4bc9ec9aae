#include "common/hash.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "common/strings.h"

namespace sluice {
namespace {

// OpenSSL 3 looks an algorithm up in its provider store (locks, a hash table) every time
// a context is set up with a legacy EVP_sha256()-style handle, and the one-shot SHA256()
// and HMAC() do it on every call: on the 4 KiB GET that lookup cost more than the hashing
// itself (BENCHMARKS.md, "Where the time goes"). The algorithms are fetched once here and
// kept for the life of the process; contexts are reused per thread.
const EVP_MD* Fetched(const char* name) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (!md) throw std::runtime_error(std::string("OpenSSL has no ") + name);
  return md;
}
const EVP_MD* Md5Md() {
  static const EVP_MD* md = Fetched("MD5");
  return md;
}
const EVP_MD* Sha256Md() {
  static const EVP_MD* md = Fetched("SHA256");
  return md;
}

// One HMAC context per thread and digest, its digest set once; each call only rekeys it.
class HmacCtx {
 public:
  explicit HmacCtx(const char* digest) {
    static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (!mac) throw std::runtime_error("OpenSSL has no HMAC");
    ctx_ = EVP_MAC_CTX_new(mac);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
        OSSL_PARAM_construct_end()};
    if (!ctx_ || EVP_MAC_CTX_set_params(ctx_, params) != 1)
      throw std::runtime_error("cannot set up HMAC");
  }
  ~HmacCtx() { EVP_MAC_CTX_free(ctx_); }
  HmacCtx(const HmacCtx&) = delete;
  HmacCtx& operator=(const HmacCtx&) = delete;
  std::string Mac(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    size_t len = 0;
    // An empty key is legal in HMAC; OpenSSL wants a non-null pointer for it.
    static const unsigned char kEmpty = 0;
    const unsigned char* k =
        key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
    const auto* in = reinterpret_cast<const unsigned char*>(data.data());
    if (EVP_MAC_init(ctx_, k, key.size(), nullptr) != 1 ||
        EVP_MAC_update(ctx_, in, data.size()) != 1 ||
        EVP_MAC_final(ctx_, out, &len, sizeof out) != 1)
      throw std::runtime_error("HMAC failed");
    return std::string(reinterpret_cast<char*>(out), len);
  }

 private:
  EVP_MAC_CTX* ctx_ = nullptr;
};

}  // namespace

Hasher::Hasher(Kind kind) : ctx_(EVP_MD_CTX_new()), md_(kind == Kind::kMd5 ? Md5Md() : Sha256Md()) {
  EVP_DigestInit_ex2(ctx_, md_, nullptr);
}

Hasher::~Hasher() { EVP_MD_CTX_free(ctx_); }

void Hasher::Update(const void* data, size_t n) { EVP_DigestUpdate(ctx_, data, n); }

std::string Hasher::Finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, out, &len);
  EVP_DigestInit_ex2(ctx_, md_, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Hasher::FinishHex() { return HexEncode(Finish()); }

std::string Md5(std::string_view data) {
  Hasher h(Hasher::Kind::kMd5);
  h.Update(data);
  return h.Finish();
}

std::string Sha256(std::string_view data) {
  thread_local Hasher h(Hasher::Kind::kSha256);  // Finish leaves it ready for the next
  h.Update(data);
  return h.Finish();
}

std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256(data)); }

HmacSha256Key::HmacSha256Key(std::string_view key)
    : inner_(EVP_MD_CTX_new()), outer_(EVP_MD_CTX_new()) {
  constexpr size_t kBlock = 64;
  unsigned char k[kBlock] = {};
  if (key.size() > kBlock) {  // RFC 2104: a key longer than a block is hashed first
    std::string d = Sha256(key);
    std::copy(d.begin(), d.end(), k);  // bytes, not a C string
  } else {
    std::copy(key.begin(), key.end(), k);
  }
  unsigned char ipad[kBlock], opad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) {
    ipad[i] = k[i] ^ 0x36;
    opad[i] = k[i] ^ 0x5c;
  }
  if (!inner_ || !outer_ || EVP_DigestInit_ex2(inner_, Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(inner_, ipad, kBlock) != 1 ||
      EVP_DigestInit_ex2(outer_, Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(outer_, opad, kBlock) != 1)
    throw std::runtime_error("cannot set up HMAC-SHA256");
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(ipad, sizeof ipad);
  OPENSSL_cleanse(opad, sizeof opad);
}

HmacSha256Key::~HmacSha256Key() {
  EVP_MD_CTX_free(inner_);
  EVP_MD_CTX_free(outer_);
}

std::string HmacSha256Key::Mac(std::string_view data) const {
  struct Scratch {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Scratch() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Scratch scratch;
  unsigned char inner[EVP_MAX_MD_SIZE], out[EVP_MAX_MD_SIZE];
  unsigned int n = 0, m = 0;
  if (!scratch.ctx || EVP_MD_CTX_copy_ex(scratch.ctx, inner_) != 1 ||
      EVP_DigestUpdate(scratch.ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(scratch.ctx, inner, &n) != 1 ||
      EVP_MD_CTX_copy_ex(scratch.ctx, outer_) != 1 ||
      EVP_DigestUpdate(scratch.ctx, inner, n) != 1 || EVP_DigestFinal_ex(scratch.ctx, out, &m) != 1)
    throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<char*>(out), m);
}

std::string HmacSha1(std::string_view key, std::string_view data) {
  thread_local HmacCtx ctx("SHA1");
  return ctx.Mac(key, data);
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  thread_local HmacCtx ctx("SHA256");
  return ctx.Mac(key, data);
}

}  // namespace sluice
