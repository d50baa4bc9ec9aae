#include "s3/error_table.h"

#include <gtest/gtest.h>

namespace sluice::s3 {
namespace {

// Every enumerator of the one error list has its own row: one missing would be answered
// by the fallback for values outside the enum, which this test can tell apart. (The
// switch has no default, so -Wswitch also fails the build on a missing row.)
TEST(ErrorTable, EveryErrorMapsToAStatusAndCode) {
  const S3Error* fallback = &LookupError(static_cast<Err>(0xFFFF));
  int rows = 0;
#define SLUICE_CHECK_ROW(name)                                            \
  {                                                                       \
    const S3Error& e = LookupError(Err::name);                            \
    EXPECT_NE(&e, fallback) << #name << " has no row in the error table"; \
    if (Err::name != Err::kOk) {                                          \
      EXPECT_GE(e.http_status, 300) << #name;                             \
      EXPECT_LT(e.http_status, 600) << #name;                             \
      EXPECT_FALSE(e.message.empty()) << #name;                           \
    }                                                                     \
    EXPECT_FALSE(e.code.empty()) << #name;                                \
    EXPECT_EQ(ErrName(Err::name), #name);                                 \
    rows++;                                                               \
  }
  SLUICE_ERROR_LIST(SLUICE_CHECK_ROW)
#undef SLUICE_CHECK_ROW
  EXPECT_EQ(rows, static_cast<int>(Err::kInternal) + 1);
}

TEST(ErrorTable, WellKnownMappings) {
  EXPECT_EQ(LookupError(Err::kNoSuchKey).http_status, 404);
  EXPECT_EQ(LookupError(Err::kNoSuchKey).code, "NoSuchKey");
  EXPECT_EQ(LookupError(Err::kSignatureDoesNotMatch).http_status, 403);
  EXPECT_EQ(LookupError(Err::kBucketNotEmpty).http_status, 409);
  EXPECT_EQ(LookupError(Err::kInvalidRange).http_status, 416);
  EXPECT_EQ(LookupError(Err::kNotImplemented).http_status, 501);
  EXPECT_EQ(LookupError(Err::kContentSha256Mismatch).code, "XAmzContentSHA256Mismatch");
  EXPECT_EQ(LookupError(Err::kSlowDown).http_status, 503);
}

// Status::retryable decides between 503 SlowDown (SDKs back off and retry) and 500 for
// internal failures; it never changes a client error.
TEST(ErrorTable, RetryableInternalFailuresAreSlowDown) {
  EXPECT_EQ(AnswerCode(Status(Err::kIoError, "EAGAIN", true)), Err::kSlowDown);
  EXPECT_EQ(AnswerCode(Status(Err::kInternal, "busy", true)), Err::kSlowDown);
  EXPECT_EQ(AnswerCode(Status(Err::kIoError, "EIO", false)), Err::kIoError);
  EXPECT_EQ(LookupError(AnswerCode(Status(Err::kIoError, "EIO", false))).http_status, 500);
  EXPECT_EQ(LookupError(AnswerCode(Status(Err::kIoError, "EAGAIN", true))).http_status, 503);
  EXPECT_EQ(AnswerCode(Status(Err::kNoSpace, "ENOSPC", true)), Err::kNoSpace) << "507 stays 507";
  EXPECT_EQ(AnswerCode(Status(Err::kNoSuchKey, "", true)), Err::kNoSuchKey);
  EXPECT_EQ(AnswerCode(Status::Ok()), Err::kOk);
}

TEST(ErrorTable, RendersEscapedXml) {
  std::string xml = RenderErrorXml(Err::kNoSuchKey, "", "/b/<k>&", "REQ1", {{"Key", "<k>"}});
  EXPECT_NE(xml.find("<Code>NoSuchKey</Code>"), std::string::npos);
  EXPECT_NE(xml.find("<Resource>/b/&lt;k&gt;&amp;</Resource>"), std::string::npos);
  EXPECT_NE(xml.find("<RequestId>REQ1</RequestId>"), std::string::npos);
  EXPECT_NE(xml.find("<Key>&lt;k&gt;</Key>"), std::string::npos);
}

}  // namespace
}  // namespace sluice::s3
