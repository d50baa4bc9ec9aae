// The flexible checksums of S3 (x-amz-checksum-*): CRC32, CRC32C, CRC64NVME, SHA1, SHA256.
// CRC32 and CRC32C come from ISA-L (SIMD). Debian 12's ISA-L (2.30) predates its CRC-64/NVME
// ("rocksoft") routine, so CRC64NVME uses Boost.CRC's table-driven implementation.
// Fed while bytes pass; single-threaded.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

enum class ChecksumAlgo : uint8_t { kNone = 0, kCrc32, kCrc32c, kCrc64Nvme, kSha1, kSha256 };

// "CRC32" <-> kCrc32 (the x-amz-checksum-algorithm / x-amz-sdk-checksum-algorithm value).
std::optional<ChecksumAlgo> ChecksumAlgoFromName(std::string_view name);
std::string_view ChecksumAlgoName(ChecksumAlgo a);
// "x-amz-checksum-crc32".
std::string ChecksumHeaderName(ChecksumAlgo a);
// Raw digest size in bytes.
size_t ChecksumSize(ChecksumAlgo a);

class Checksummer {
 public:
  explicit Checksummer(ChecksumAlgo algo);
  ~Checksummer();
  Checksummer(const Checksummer&) = delete;
  Checksummer& operator=(const Checksummer&) = delete;
  ChecksumAlgo algo() const { return algo_; }
  void Update(const void* data, size_t n);
  // Raw digest (big-endian for CRCs, as S3 encodes them).
  std::string Finish();

 private:
  ChecksumAlgo algo_;
  uint64_t crc_ = 0;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether whole-object checksums of multipart uploads (FULL_OBJECT) can use the algorithm:
// the CRCs can, because their values combine without the data.
bool SupportsFullObject(ChecksumAlgo a);
// The raw CRC of A followed by B, from the raw CRCs of A and B and the length of B;
// nullopt for a non-CRC algorithm or a value of the wrong size.
std::optional<std::string> CombineCrc(ChecksumAlgo algo, std::string_view first,
                                      std::string_view second, uint64_t second_len);

// Raw digest of a whole buffer; base64 is how S3 carries it.
std::string ComputeChecksum(ChecksumAlgo algo, std::string_view data);

}  // namespace sluice
