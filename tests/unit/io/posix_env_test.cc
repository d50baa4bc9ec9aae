#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "io/env.h"

namespace sluice::io {
namespace {

class PosixEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-io-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

TEST_F(PosixEnvTest, WriteReadRenameRemove) {
  FileSystem* fs = PosixFileSystem();
  ASSERT_TRUE(fs->CreateDirs(dir_ + "/a/b").ok());
  auto f = fs->NewWritableFile(dir_ + "/a/b/f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("0123456789", 10).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(fs->NewWritableFile(dir_ + "/a/b/f").status().code(), Err::kAlreadyExists);
  auto r = fs->OpenReadable(dir_ + "/a/b/f");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->Size(), 10u);
  EXPECT_GE((*r)->NativeHandle(), 0);
  char buf[4];
  size_t got = 0;
  ASSERT_TRUE((*r)->PositionalRead(8, buf, 4, &got).ok());
  EXPECT_EQ(got, 2u);
  EXPECT_EQ(std::string(buf, 2), "89");
  ASSERT_TRUE(fs->Rename(dir_ + "/a/b/f", dir_ + "/a/g").ok());
  ASSERT_TRUE(fs->SyncDir(dir_ + "/a").ok());
  EXPECT_FALSE(fs->Exists(dir_ + "/a/b/f"));
  EXPECT_TRUE(fs->Exists(dir_ + "/a/g"));
  ASSERT_TRUE(fs->Remove(dir_ + "/a/g").ok());
  EXPECT_EQ(fs->OpenReadable(dir_ + "/a/g").status().code(), Err::kNotFound);
}

// OpenAt (appends): writes from the offset on, cutting what lay past it; never shortens
// below the offset; refuses a file shorter than the offset.
TEST_F(PosixEnvTest, OpenAtCutsAndWritesFromTheOffset) {
  FileSystem* fs = PosixFileSystem();
  const std::string p = dir_ + "/f";
  auto f = fs->NewWritableFile(p);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("hello-garbage", 13).ok());
  ASSERT_TRUE((*f)->Close().ok());
  auto a = fs->OpenAt(p, 5);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE((*a)->Append(" world", 6).ok());
  ASSERT_TRUE((*a)->Sync().ok());
  ASSERT_TRUE((*a)->Close().ok());
  EXPECT_EQ(*fs->ReadWholeFile(p), "hello world");
  EXPECT_EQ(fs->OpenAt(p, 12).status().code(), Err::kCorruption);
  EXPECT_EQ(*fs->ReadWholeFile(p), "hello world");
  EXPECT_EQ(fs->OpenAt(dir_ + "/none", 0).status().code(), Err::kNotFound);
}

// Direct writes: any size (empty, under a block, whole blocks, over the 1 MiB buffer,
// in odd append sizes) reads back exactly, with the padding truncated away.
TEST_F(PosixEnvTest, DirectWritesReadBackExactly) {
  FileSystem* fs = PosixFileSystem();
  for (size_t size :
       {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{1} << 20, (size_t{3} << 20) + 7}) {
    std::string data(size, '\0');
    for (size_t i = 0; i < size; i++) data[i] = static_cast<char>((i * 131) ^ (i >> 12));
    std::string path = dir_ + "/d" + std::to_string(size);
    auto f = fs->NewDirectWritableFile(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    for (size_t at = 0; at < size;) {
      size_t k = std::min<size_t>(size - at, 100'003);  // never block-aligned
      ASSERT_TRUE((*f)->Append(data.data() + at, k).ok());
      at += k;
    }
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Close().ok());
    EXPECT_EQ(fs->NewDirectWritableFile(path).status().code(), Err::kAlreadyExists);
    auto r = fs->OpenReadable(path);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ((*r)->Size(), size);
    (*r)->WillRead(0, size + 4096);  // a hint only: past the end is harmless
    std::string back(size, '\0');
    size_t got = 0;
    ASSERT_TRUE((*r)->PositionalRead(0, back.data(), size, &got).ok());
    EXPECT_EQ(got, size);
    EXPECT_TRUE(back == data) << "size " << size;
  }
}

// Whole blocks from an aligned buffer skip the staging copy; mixed with staged appends
// (a tail that leaves a partial block, appends that start mid-block) the bytes still land
// in order.
TEST_F(PosixEnvTest, DirectWritesFromAlignedBuffersMixWithStagedOnes) {
  FileSystem* fs = PosixFileSystem();
  const size_t total = (size_t{5} << 20) + 12345;
  std::unique_ptr<char, decltype(&std::free)> src(
      static_cast<char*>(std::aligned_alloc(4096, (total + 4095) / 4096 * 4096)), &std::free);
  for (size_t i = 0; i < total; i++) src.get()[i] = static_cast<char>((i * 7919) ^ (i >> 9));
  std::string path = dir_ + "/aligned";
  auto f = fs->NewDirectWritableFile(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  // aligned whole (direct) | aligned, whole + 5 (direct, then staged) | mid-block (staged)
  // | the staged buffer filling up and flushing | the rest
  size_t sizes[] = {size_t{1} << 20, 8192 + 5, 4091, size_t{1} << 20, size_t{2} << 20};
  size_t at = 0;
  for (size_t k : sizes) {
    ASSERT_TRUE((*f)->Append(src.get() + at, k).ok());
    at += k;
  }
  ASSERT_TRUE((*f)->Append(src.get() + at, total - at).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  auto r = fs->OpenReadable(path);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*r)->Size(), total);
  std::string back(total, '\0');
  size_t got = 0;
  ASSERT_TRUE((*r)->PositionalRead(0, back.data(), total, &got).ok());
  EXPECT_EQ(got, total);
  EXPECT_TRUE(std::string_view(back) == std::string_view(src.get(), total));
}

// Where O_DIRECT is refused (tmpfs), the same call gives a plain file that works.
TEST_F(PosixEnvTest, DirectWritesFallBackWhereUnsupported) {
  if (!PosixFileSystem()->Exists("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  FileSystem* fs = PosixFileSystem();
  std::string path = "/dev/shm/sluice-direct-" + std::to_string(::getpid());
  auto f = fs->NewDirectWritableFile(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE((*f)->Append("hello", 5).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  auto r = fs->OpenReadable(path);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->Size(), 5u);
  ASSERT_TRUE(fs->Remove(path).ok());
}

TEST_F(PosixEnvTest, WholeFileDurableAndLock) {
  FileSystem* fs = PosixFileSystem();
  ASSERT_TRUE(fs->WriteWholeFileDurably(dir_ + "/x", "abc").ok());
  ASSERT_TRUE(fs->WriteWholeFileDurably(dir_ + "/x", "defg").ok());
  EXPECT_EQ(*fs->ReadWholeFile(dir_ + "/x"), "defg");
  auto l1 = fs->LockFile(dir_ + "/LOCK");
  ASSERT_TRUE(l1.ok());
  // flock is per open file description: a second open in this process conflicts too.
  EXPECT_EQ(fs->LockFile(dir_ + "/LOCK").status().code(), Err::kAlreadyExists);
  l1->reset();
  EXPECT_TRUE(fs->LockFile(dir_ + "/LOCK").ok());
}

TEST(SystemRandom, HexStringsDiffer) {
  auto a = SystemRandom()->HexString(16), b = SystemRandom()->HexString(16);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace sluice::io
