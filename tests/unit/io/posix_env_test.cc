#include <gtest/gtest.h>
#include <unistd.h>

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
