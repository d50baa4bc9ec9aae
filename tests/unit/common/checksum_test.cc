#include "common/checksum.h"

#include <gtest/gtest.h>

#include <random>

#include "common/strings.h"

namespace sluice {
namespace {

// Published check values: each algorithm over "123456789".
TEST(Checksum, CheckValues) {
  EXPECT_EQ(HexEncode(ComputeChecksum(ChecksumAlgo::kCrc32, "123456789")), "cbf43926");
  EXPECT_EQ(HexEncode(ComputeChecksum(ChecksumAlgo::kCrc32c, "123456789")), "e3069283");
  EXPECT_EQ(HexEncode(ComputeChecksum(ChecksumAlgo::kCrc64Nvme, "123456789")), "ae8b14860a799888");
  EXPECT_EQ(HexEncode(ComputeChecksum(ChecksumAlgo::kSha1, "abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(Checksum, StreamingEqualsWhole) {
  std::string data(100000, 'x');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 131 + (i >> 7));
  for (auto a : {ChecksumAlgo::kCrc32, ChecksumAlgo::kCrc32c, ChecksumAlgo::kCrc64Nvme,
                 ChecksumAlgo::kSha1, ChecksumAlgo::kSha256}) {
    Checksummer c(a);
    for (size_t off = 0; off < data.size(); off += 777)
      c.Update(data.data() + off, std::min<size_t>(777, data.size() - off));
    EXPECT_EQ(c.Finish(), ComputeChecksum(a, data)) << ChecksumAlgoName(a);
  }
}

// The FULL_OBJECT checksum of a multipart upload: combining the parts' CRCs must give the
// CRC of the whole, for every split, including empty and odd-sized parts.
// compat: mpu-full-object
TEST(Checksum, CombineCrcEqualsCrcOfConcatenation) {
  std::mt19937_64 rng(7);
  std::string data(300000, '\0');
  for (auto& ch : data) ch = static_cast<char>(rng());
  for (auto a : {ChecksumAlgo::kCrc32, ChecksumAlgo::kCrc32c, ChecksumAlgo::kCrc64Nvme}) {
    EXPECT_TRUE(SupportsFullObject(a));
    for (size_t split :
         {size_t{0}, size_t{1}, size_t{7}, size_t{4096}, size_t{123457}, data.size()}) {
      std::string_view x(data.data(), split), y(data.data() + split, data.size() - split);
      auto c = CombineCrc(a, ComputeChecksum(a, x), ComputeChecksum(a, y), y.size());
      ASSERT_TRUE(c.has_value());
      EXPECT_EQ(*c, ComputeChecksum(a, data)) << ChecksumAlgoName(a) << " split " << split;
    }
    // Three parts, folded left to right as CompleteMultipartUpload does.
    std::string acc = ComputeChecksum(a, std::string_view(data).substr(0, 1000));
    acc = *CombineCrc(a, acc, ComputeChecksum(a, std::string_view(data).substr(1000, 5000)), 5000);
    acc = *CombineCrc(a, acc, ComputeChecksum(a, std::string_view(data).substr(6000)),
                      data.size() - 6000);
    EXPECT_EQ(acc, ComputeChecksum(a, data));
  }
  EXPECT_FALSE(SupportsFullObject(ChecksumAlgo::kSha256));
  EXPECT_FALSE(CombineCrc(ChecksumAlgo::kSha1, "a", "b", 1).has_value());
  EXPECT_FALSE(CombineCrc(ChecksumAlgo::kCrc32, "abc", "abcd", 1).has_value());
}

}  // namespace
}  // namespace sluice
