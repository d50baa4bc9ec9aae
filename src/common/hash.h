// Streaming hashes over OpenSSL 3 EVP. They are fed while bytes pass (never a second
// pass over stored data). Each object is single-threaded; create one per request.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

class Hasher {
 public:
  enum class Kind { kMd5, kSha256 };
  explicit Hasher(Kind kind);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void Update(const void* data, size_t n);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // Raw digest bytes; the hasher is reset afterwards.
  std::string Finish();
  std::string FinishHex();

 private:
  EVP_MD_CTX* ctx_;
  const EVP_MD* md_;
};

std::string Md5(std::string_view data);     // raw 16 bytes
std::string Sha256(std::string_view data);  // raw 32 bytes
std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string HmacSha1(std::string_view key, std::string_view data);    // raw 20 bytes (SigV2)

// HMAC-SHA256 under one key, its inner and outer pads hashed once when made: each Mac then
// costs the message's blocks and one more, not the key's set-up and OpenSSL's MAC
// machinery (SigV4 signs every request of a day with one key). Mac may be called from
// several threads at once.
class HmacSha256Key {
 public:
  explicit HmacSha256Key(std::string_view key);
  ~HmacSha256Key();
  HmacSha256Key(const HmacSha256Key&) = delete;
  HmacSha256Key& operator=(const HmacSha256Key&) = delete;
  std::string Mac(std::string_view data) const;  // raw 32 bytes, = HmacSha256(key, data)

 private:
  EVP_MD_CTX* inner_;  // SHA-256 after (key ^ ipad)
  EVP_MD_CTX* outer_;  // SHA-256 after (key ^ opad)
};

}  // namespace sluice
