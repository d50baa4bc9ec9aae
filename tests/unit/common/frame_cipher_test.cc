#include "common/frame_cipher.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace sluice {
namespace {

std::string Bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(FrameCipher, SealsAndOpensAFrame) {
  const std::string key = Bytes(32, 1), plain = Bytes(1000, 2);
  FrameCipher c(key);
  std::string sealed(plain.size() + FrameCipher::kTag, '\0'), back(plain.size(), '\0');
  c.Seal(7, true, plain.data(), plain.size(), sealed.data());
  EXPECT_NE(sealed.substr(0, plain.size()), plain);
  ASSERT_TRUE(c.Open(7, true, sealed.data(), sealed.size(), back.data()).ok());
  EXPECT_EQ(back, plain);
}

TEST(FrameCipher, RefusesAlteredMovedTruncatedOrForeignFrames) {
  const std::string key = Bytes(32, 1), plain = Bytes(4096, 2);
  FrameCipher c(key);
  std::string sealed(plain.size() + FrameCipher::kTag, '\0'), back(plain.size(), '\0');
  c.Seal(3, false, plain.data(), plain.size(), sealed.data());
  for (size_t at : {size_t{0}, size_t{100}, plain.size() - 1, plain.size() + 3}) {
    std::string bad = sealed;
    bad[at] ^= 0x20;
    EXPECT_EQ(c.Open(3, false, bad.data(), bad.size(), back.data()).code(), Err::kCorruption) << at;
  }
  EXPECT_EQ(c.Open(4, false, sealed.data(), sealed.size(), back.data()).code(), Err::kCorruption);
  EXPECT_EQ(c.Open(3, true, sealed.data(), sealed.size(), back.data()).code(), Err::kCorruption);
  EXPECT_EQ(c.Open(3, false, sealed.data(), sealed.size() - 1, back.data()).code(),
            Err::kCorruption);
  EXPECT_EQ(c.Open(3, false, sealed.data(), 10, back.data()).code(), Err::kCorruption);
  FrameCipher other(Bytes(32, 9));
  EXPECT_EQ(other.Open(3, false, sealed.data(), sealed.size(), back.data()).code(),
            Err::kCorruption);
}

TEST(FrameCipher, SizesRoundTripAndTornRunsAreImpossible) {
  const uint64_t F = FrameCipher::kFramePlain;
  for (uint64_t plain :
       {uint64_t{0}, uint64_t{1}, F - 1, F, F + 1, 3 * F, 3 * F + 17, uint64_t{5} << 30}) {
    const uint64_t stored = FrameCipher::StoredSize(plain);
    EXPECT_EQ(FrameCipher::PlainSize(stored), plain) << plain;
  }
  EXPECT_EQ(FrameCipher::StoredSize(F), F + FrameCipher::kTag);
  EXPECT_EQ(FrameCipher::PlainSize(FrameCipher::kFrameStored + 5), UINT64_MAX);
  EXPECT_EQ(FrameCipher::PlainSize(FrameCipher::kTag), UINT64_MAX);
}

}  // namespace
}  // namespace sluice
