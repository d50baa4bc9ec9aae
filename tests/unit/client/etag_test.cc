// LocalEtag: the ETag S3 would give a local file, plain and multipart (sync --etag).
#include <gtest/gtest.h>
#include <sluice/client.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "common/hash.h"
#include "common/strings.h"

namespace sluice::client {
namespace {

class LocalEtagTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() / ("etag-" + std::to_string(::getpid()));
  }
  void TearDown() override { std::filesystem::remove(path_); }
  void Write(const std::string& data) {
    FILE* f = std::fopen(path_.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(data.data(), 1, data.size(), f);
    std::fclose(f);
  }
  // The multipart ETag of `data` uploaded in parts of `part` bytes.
  static std::string Multipart(const std::string& data, size_t part) {
    std::string md5s;
    size_t n = 0;
    for (size_t at = 0; at < data.size(); at += part, n++) md5s += Md5(data.substr(at, part));
    return HexEncode(Md5(md5s)) + "-" + std::to_string(n);
  }
  std::filesystem::path path_;
};

TEST_F(LocalEtagTest, PlainMd5) {
  Write("hello");
  EXPECT_EQ(LocalEtag(path_, 5, "00000000000000000000000000000000", 8 << 20),
            "5d41402abc4b2a76b9719d911017c592");
  Write("");
  EXPECT_EQ(LocalEtag(path_, 0, "x", 8 << 20), "d41d8cd98f00b204e9800998ecf8427e");
}

TEST_F(LocalEtagTest, MultipartWithTheUploadersPartSize) {
  const size_t mib = 1 << 20;
  std::string data(12 * mib + 5, '\0');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 7 + i / 4096);
  Write(data);
  // Uploaded in 5 MiB parts (3 parts): found although our own part size is 8 MiB.
  std::string five = Multipart(data, 5 * mib);
  EXPECT_EQ(LocalEtag(path_, data.size(), five, 8 * mib), five);
  // An exact multiple of the part size: 12 MiB in 4 MiB parts (3 parts).
  std::string four = Multipart(data.substr(0, 12 * mib), 4 * mib);
  Write(data.substr(0, 12 * mib));
  EXPECT_EQ(LocalEtag(path_, 12 * mib, four, 8 * mib), four);
  // Different content with the same shape: no match.
  std::string other = four;
  other[0] = other[0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(LocalEtag(path_, 12 * mib, other, 8 * mib), "");
  // A part count no plausible part size gives, and a malformed suffix.
  EXPECT_EQ(LocalEtag(path_, 12 * mib, four.substr(0, 32) + "-1000", 8 * mib), "");
  EXPECT_EQ(LocalEtag(path_, 12 * mib, four.substr(0, 32) + "-x", 8 * mib), "");
}

TEST_F(LocalEtagTest, MissingFile) {
  EXPECT_EQ(LocalEtag(path_.string() + ".none", 5, "abc", 8 << 20), "");
}

}  // namespace
}  // namespace sluice::client
