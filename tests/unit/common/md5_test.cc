// The lane-parallel MD5 (common/md5.h) against OpenSSL's: RFC 1321's vectors, random
// lengths split at random points, both kernels, and many threads hashing through the
// shared engine at once (lanes filling, draining and changing leader mid-stream).
#include "common/md5.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/hash.h"
#include "common/strings.h"

namespace sluice {
namespace {

std::string Hex(Md5Stream& m) { return HexEncode(m.Finish()); }

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Each kernel the CPU has: "best" is AVX-512VL where available.
class Md5Test : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { Md5Stream::ForceKernelForTesting(GetParam()); }
  void TearDown() override { Md5Stream::ForceKernelForTesting(""); }
};

TEST_P(Md5Test, Rfc1321Vectors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "d41d8cd98f00b204e9800998ecf8427e"},
      {"a", "0cc175b9c0f1b6a831c399e269772661"},
      {"abc", "900150983cd24fb0d6963f7d28e17f72"},
      {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
      {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
      {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
       "d174ab98d277d9f5a5611c2c9f419d9f"},
      {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
       "57edf4a22be3c955ac49da2e2107b67a"}};
  for (const auto& [in, want] : cases) {
    Md5Stream a;
    a.Update(in, strlen(in));
    EXPECT_EQ(Hex(a), want) << in;
    Md5Stream b;
    b.UpdateShared(in, strlen(in));
    EXPECT_EQ(Hex(b), want) << in;
  }
}

TEST_P(Md5Test, RandomLengthsAndSplitsMatchOpenSsl) {
  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 300; ++trial) {
    size_t n = trial < 140 ? trial : rng() % (trial < 250 ? 5000 : 300000);
    std::string data = RandomBytes(rng, n);
    Md5Stream m;
    for (size_t at = 0; at < n;) {
      size_t k = std::min<size_t>(n - at, rng() % 3 == 0 ? rng() % 70 : rng() % 100000);
      if (rng() % 2)
        m.UpdateShared(data.data() + at, k);
      else
        m.Update(data.data() + at, k);
      at += k;
    }
    ASSERT_EQ(Hex(m), HexEncode(sluice::Md5(data))) << "length " << n;
  }
}

TEST_P(Md5Test, ConcurrentStreamsThroughTheEngine) {
  // 20 threads, each hashing its own streams in pieces of mixed sizes, so lanes join and
  // leave at every point and leadership moves between threads.
  constexpr int kThreads = 20;
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &errors] {
      std::mt19937_64 rng(100 + t);
      for (int s = 0; s < 6; ++s) {
        std::string data = RandomBytes(rng, 1 + rng() % (3 << 20));
        Md5Stream m;
        for (size_t at = 0; at < data.size();) {
          size_t k = std::min<size_t>(data.size() - at, 1 + rng() % (1 << 20));
          m.UpdateShared(data.data() + at, k);
          at += k;
        }
        if (HexEncode(m.Finish()) != HexEncode(sluice::Md5(data)))
          errors[t] = "stream " + std::to_string(s) + " of thread " + std::to_string(t);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
}

// An appendable object keeps its MD5 state in its record: a stream saved and restored at
// any point (mid-block too) ends with the digest of all the bytes, and Peek leaves it going.
TEST_P(Md5Test, SavedStateContinues) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    size_t n = rng() % (trial < 100 ? 300 : 200000);
    std::string data = RandomBytes(rng, n);
    Md5Stream m;
    for (size_t at = 0; at < n;) {
      size_t k = std::min<size_t>(n - at, rng() % 3 == 0 ? rng() % 70 : rng() % 50000);
      m.Update(data.data() + at, k);
      at += k;
      ASSERT_EQ(HexEncode(m.Peek()), HexEncode(sluice::Md5(data.substr(0, at))));
      std::string state = m.SaveState();
      EXPECT_LE(state.size(), 93u);
      Md5Stream back;
      ASSERT_TRUE(back.RestoreState(state));
      EXPECT_EQ(back.length(), at);
      m = back;
    }
    ASSERT_EQ(Hex(m), HexEncode(sluice::Md5(data))) << "length " << n;
  }
}

TEST(Md5State, ForeignStatesAreRefused) {
  Md5Stream m;
  m.Update("abc", 3);
  std::string good = m.SaveState();
  Md5Stream back;
  EXPECT_TRUE(back.RestoreState(good));
  EXPECT_FALSE(back.RestoreState(""));
  EXPECT_FALSE(back.RestoreState(good.substr(0, good.size() - 1)))
      << "tail shorter than length says";
  std::string bad = good;
  bad[0] = 2;
  EXPECT_FALSE(back.RestoreState(bad)) << "unknown format";
  EXPECT_EQ(back.length(), 0u) << "a refused state leaves a fresh stream";
  EXPECT_EQ(HexEncode(back.Finish()), HexEncode(sluice::Md5("")));
}

INSTANTIATE_TEST_SUITE_P(Kernels, Md5Test, ::testing::Values("best", "avx2", "scalar"),
                         [](const auto& info) { return std::string(info.param); });

TEST(Md5KernelTest, NamesTheKernel) {
  std::string k = Md5Stream::Kernel();
  EXPECT_TRUE(k == "avx512vl" || k == "avx2" || k == "scalar") << k;
}

}  // namespace
}  // namespace sluice
