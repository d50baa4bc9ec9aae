#include "common/status.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

Status Fails() { return Error(Err::kNoSuchKey, "k"); }
Result<int> Value(bool ok) {
  if (!ok) return Error(Err::kInternal, "nope");
  return 7;
}
Status UsesMacros(bool ok, int* out) {
  SLUICE_ASSIGN_OR_RETURN(*out, Value(ok));
  SLUICE_RETURN_IF_ERROR(Status::Ok());
  return Status::Ok();
}

TEST(Status, OkIsCheapAndEmpty) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Err::kOk);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(Status(Err::kOk, "ignored").ok());
}

TEST(Status, CarriesCodeMessageAndRetryable) {
  Status s = Fails();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Err::kNoSuchKey);
  EXPECT_EQ(s.ToString(), "kNoSuchKey: k");
  Status copy = s;
  EXPECT_EQ(copy.message(), "k");
  EXPECT_TRUE(Status(Err::kSlowDown, "", true).retryable());
}

TEST(Status, IoErrorMapsErrno) {
  EXPECT_EQ(IoError("open", "/x", ENOENT).code(), Err::kNotFound);
  EXPECT_EQ(IoError("create", "/x", EEXIST).code(), Err::kAlreadyExists);
  EXPECT_EQ(IoError("write", "/x", ENOSPC).code(), Err::kNoSpace);
  EXPECT_TRUE(IoError("write", "/x", ENOSPC).retryable());
  EXPECT_EQ(IoError("write", "/x", EIO).code(), Err::kIoError);
}

TEST(Status, MacrosPropagate) {
  int v = 0;
  EXPECT_TRUE(UsesMacros(true, &v).ok());
  EXPECT_EQ(v, 7);
  Status s = UsesMacros(false, &v);
  EXPECT_EQ(s.code(), Err::kInternal);
}

TEST(Status, EveryErrorHasAName) {
  for (int i = 0; i <= static_cast<int>(Err::kInternal); i++)
    EXPECT_NE(ErrName(static_cast<Err>(i)), "kUnknown") << i;
}

}  // namespace
}  // namespace sluice
