// Known-answer tests for the hashes (FIPS 180-2, RFC 1321, RFC 2202, RFC 4231), called
// from several threads: contexts are cached per thread and must never mix.
#include "common/hash.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "common/strings.h"

namespace sluice {
namespace {

void CheckVectors() {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(HexEncode(Md5("abc")), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HexEncode(HmacSha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  // A key longer than the block is hashed first (RFC 4231 case 6).
  EXPECT_EQ(HexEncode(HmacSha256(std::string(131, '\xaa'),
                                 "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(HexEncode(HmacSha1("Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  Hasher h(Hasher::Kind::kMd5);
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(h.FinishHex(), "900150983cd24fb0d6963f7d28e17f72");
  h.Update("");  // reset after Finish
  EXPECT_EQ(h.FinishHex(), "d41d8cd98f00b204e9800998ecf8427e");
}

TEST(Hash, KnownAnswers) { CheckVectors(); }

TEST(Hash, KnownAnswersOnManyThreads) {
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; i++)
    ts.emplace_back([] {
      for (int n = 0; n < 200; n++) CheckVectors();
    });
  for (auto& t : ts) t.join();
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// A key's pads hashed once give the MAC of the one-shot HMAC, for keys shorter than, as long
// as and longer than SHA-256's 64-byte block (then hashed first), and messages of any length.
TEST(HmacSha256Key, MatchesTheOneShotHmac) {
  for (size_t klen : {0, 1, 32, 63, 64, 65, 131}) {
    std::string key(klen, '\0');
    for (size_t i = 0; i < klen; ++i) key[i] = static_cast<char>(i * 7 + 3);
    HmacSha256Key mac(key);
    for (size_t dlen : {0, 1, 55, 56, 64, 150, 1000}) {
      std::string data(dlen, 'd');
      for (size_t i = 0; i < dlen; ++i) data[i] = static_cast<char>(i * 13);
      ASSERT_EQ(mac.Mac(data), HmacSha256(key, data)) << "key " << klen << " data " << dlen;
      ASSERT_EQ(mac.Mac(data), HmacSha256(key, data)) << "the second use of the key";
    }
  }
  // RFC 4231 test case 2.
  EXPECT_EQ(HexEncode(HmacSha256Key("Jefe").Mac("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace sluice
