#include "common/status.h"

#include <gtest/gtest.h>

#include "common/check.h"

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

// The assertion kinds of common/check.h.
namespace sluice {
namespace {

TEST(Checks, ValueOfAnErrorIsAFatalCheckNotAReadOfNothing) {
  Result<std::string> bad = Status(Err::kNoSuchKey, "gone");
  EXPECT_DEATH((void)bad.value(), "Result::value\\(\\) of an error: kNoSuchKey: gone");
  EXPECT_DEATH((void)bad->size(), "fatal check failed");
  Result<std::string> good = std::string("x");
  EXPECT_EQ(good.value(), "x");
  EXPECT_EQ(good->size(), 1u);
}

TEST(Checks, FatalCheckAbortsInEveryBuild) {
  EXPECT_DEATH(SLUICE_CHECK(1 + 1 == 3, "arithmetic"), "1 \\+ 1 == 3: arithmetic");
  SLUICE_CHECK(true, "never printed");
#ifndef NDEBUG
  EXPECT_DEATH(SLUICE_DCHECK(false, "debug invariant"), "debug invariant");
#else
  SLUICE_DCHECK(false, "compiled out of release builds");
#endif
}

TEST(Checks, ABugFailsTheRequestAndIsCounted) {
  const uint64_t before = BugCount();
  Status s = SLUICE_BUG("an impossible state");
  EXPECT_EQ(s.code(), Err::kInternal);
  EXPECT_NE(s.message().find("an impossible state"), std::string_view::npos);
  EXPECT_EQ(BugCount(), before + 1);
}

}  // namespace
}  // namespace sluice
