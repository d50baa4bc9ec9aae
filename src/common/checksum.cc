#include "common/checksum.h"

#include <isa-l/crc.h>

#include <boost/crc.hpp>

#include "common/hash.h"
#include "common/strings.h"

namespace sluice {
namespace {
// CRC-64/NVME: poly 0xad93d23594c93659, reflected, init and xorout all ones.
using Crc64Nvme = boost::crc_optimal<64, 0xAD93D23594C93659ULL, 0xFFFFFFFFFFFFFFFFULL,
                                     0xFFFFFFFFFFFFFFFFULL, true, true>;
std::string BigEndian(uint64_t v, size_t bytes) {
  std::string out(bytes, '\0');
  for (size_t i = 0; i < bytes; i++) out[bytes - 1 - i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}
}  // namespace

struct Checksummer::Impl {
  std::optional<Hasher> sha256;
  EVP_MD_CTX* sha1 = nullptr;
  Crc64Nvme crc64;
  ~Impl() {
    if (sha1) EVP_MD_CTX_free(sha1);
  }
};

std::optional<ChecksumAlgo> ChecksumAlgoFromName(std::string_view n) {
  std::string u(n);
  for (auto& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (u == "CRC32") return ChecksumAlgo::kCrc32;
  if (u == "CRC32C") return ChecksumAlgo::kCrc32c;
  if (u == "CRC64NVME") return ChecksumAlgo::kCrc64Nvme;
  if (u == "SHA1") return ChecksumAlgo::kSha1;
  if (u == "SHA256") return ChecksumAlgo::kSha256;
  return std::nullopt;
}

std::string_view ChecksumAlgoName(ChecksumAlgo a) {
  switch (a) {
    case ChecksumAlgo::kCrc32:
      return "CRC32";
    case ChecksumAlgo::kCrc32c:
      return "CRC32C";
    case ChecksumAlgo::kCrc64Nvme:
      return "CRC64NVME";
    case ChecksumAlgo::kSha1:
      return "SHA1";
    case ChecksumAlgo::kSha256:
      return "SHA256";
    case ChecksumAlgo::kNone:
      break;
  }
  return "";
}

std::string ChecksumHeaderName(ChecksumAlgo a) {
  return "x-amz-checksum-" + ToLower(ChecksumAlgoName(a));
}

size_t ChecksumSize(ChecksumAlgo a) {
  switch (a) {
    case ChecksumAlgo::kCrc32:
    case ChecksumAlgo::kCrc32c:
      return 4;
    case ChecksumAlgo::kCrc64Nvme:
      return 8;
    case ChecksumAlgo::kSha1:
      return 20;
    case ChecksumAlgo::kSha256:
      return 32;
    case ChecksumAlgo::kNone:
      break;
  }
  return 0;
}

Checksummer::Checksummer(ChecksumAlgo algo) : algo_(algo), impl_(std::make_unique<Impl>()) {
  if (algo == ChecksumAlgo::kSha256) impl_->sha256.emplace(Hasher::Kind::kSha256);
  if (algo == ChecksumAlgo::kSha1) {
    impl_->sha1 = EVP_MD_CTX_new();
    EVP_DigestInit_ex(impl_->sha1, EVP_sha1(), nullptr);
  }
  if (algo == ChecksumAlgo::kCrc32c)
    crc_ = 0xFFFFFFFFu;  // crc32_iscsi neither pre- nor post-inverts
}

Checksummer::~Checksummer() = default;

void Checksummer::Update(const void* data, size_t n) {
  auto* p = static_cast<const unsigned char*>(data);
  switch (algo_) {
    case ChecksumAlgo::kCrc32:
      crc_ = crc32_gzip_refl(static_cast<uint32_t>(crc_), p, n);
      break;
    case ChecksumAlgo::kCrc32c:
      while (n > 0) {  // crc32_iscsi takes an int length
        int k = static_cast<int>(std::min<size_t>(n, 1 << 30));
        crc_ = crc32_iscsi(const_cast<unsigned char*>(p), k, static_cast<unsigned>(crc_));
        p += k;
        n -= static_cast<size_t>(k);
      }
      break;
    case ChecksumAlgo::kCrc64Nvme:
      impl_->crc64.process_bytes(p, n);
      break;
    case ChecksumAlgo::kSha1:
      EVP_DigestUpdate(impl_->sha1, p, n);
      break;
    case ChecksumAlgo::kSha256:
      impl_->sha256->Update(p, n);
      break;
    case ChecksumAlgo::kNone:
      break;
  }
}

std::string Checksummer::Finish() {
  switch (algo_) {
    case ChecksumAlgo::kCrc32:
      return BigEndian(crc_, 4);
    case ChecksumAlgo::kCrc32c:
      return BigEndian(~static_cast<uint32_t>(crc_), 4);
    case ChecksumAlgo::kCrc64Nvme:
      return BigEndian(impl_->crc64.checksum(), 8);
    case ChecksumAlgo::kSha1: {
      unsigned char out[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      EVP_DigestFinal_ex(impl_->sha1, out, &len);
      return std::string(reinterpret_cast<char*>(out), len);
    }
    case ChecksumAlgo::kSha256:
      return impl_->sha256->Finish();
    case ChecksumAlgo::kNone:
      break;
  }
  return "";
}

std::string ComputeChecksum(ChecksumAlgo algo, std::string_view data) {
  Checksummer c(algo);
  c.Update(data.data(), data.size());
  return c.Finish();
}

}  // namespace sluice

namespace sluice {
namespace {

// GF(2) polynomial arithmetic modulo a reflected CRC polynomial (zlib's crc32_combine,
// generalised to 64 bits). No library in Debian combines CRC32C or CRC-64/NVME values:
// zlib has CRC32 only, ISA-L and Boost.CRC have none.
uint64_t MultModP(uint64_t a, uint64_t b, uint64_t poly, int width) {
  uint64_t m = uint64_t{1} << (width - 1);
  uint64_t p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1) ? (b >> 1) ^ poly : b >> 1;
  }
  return p;
}

// x^(8 * n) modulo the polynomial, by squaring.
uint64_t XPow8N(uint64_t n, uint64_t poly, int width) {
  uint64_t p = uint64_t{1} << (width - 1);       // x^0
  uint64_t sq = uint64_t{1} << (width - 1 - 8);  // x^8
  while (n) {
    if (n & 1) p = MultModP(sq, p, poly, width);
    sq = MultModP(sq, sq, poly, width);
    n >>= 1;
  }
  return p;
}

uint64_t FromBigEndian(std::string_view b) {
  uint64_t v = 0;
  for (unsigned char c : b) v = (v << 8) | c;
  return v;
}

}  // namespace

bool SupportsFullObject(ChecksumAlgo a) {
  return a == ChecksumAlgo::kCrc32 || a == ChecksumAlgo::kCrc32c || a == ChecksumAlgo::kCrc64Nvme;
}

std::optional<std::string> CombineCrc(ChecksumAlgo algo, std::string_view first,
                                      std::string_view second, uint64_t second_len) {
  uint64_t poly;
  int width;
  switch (algo) {
    case ChecksumAlgo::kCrc32:
      poly = 0xEDB88320u, width = 32;
      break;
    case ChecksumAlgo::kCrc32c:
      poly = 0x82F63B78u, width = 32;
      break;
    case ChecksumAlgo::kCrc64Nvme:
      poly = 0x9A6C9329AC4BC9B5ULL, width = 64;
      break;
    default:
      return std::nullopt;
  }
  size_t bytes = static_cast<size_t>(width / 8);
  if (first.size() != bytes || second.size() != bytes) return std::nullopt;
  // All three CRCs start from all ones and end inverted, so those terms cancel:
  // crc(A || B) = crc(A) * x^(8 |B|) + crc(B).
  uint64_t a = FromBigEndian(first), b = FromBigEndian(second);
  uint64_t c = MultModP(XPow8N(second_len, poly, width), a, poly, width) ^ b;
  return BigEndian(c, bytes);
}

}  // namespace sluice
