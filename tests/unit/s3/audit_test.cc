#include "s3/audit.h"

#include <gtest/gtest.h>

namespace sluice::s3 {
namespace {

TEST(Audit, ARecordIsOneLineOfJsonWithEveryFieldEscaped) {
  AuditRecord r;
  r.time_micros = 1700000000LL * 1000000;
  r.request_id = "ID1";
  r.principal = "arn:aws:iam::000000000000:user/alice";
  r.access_key = "AKIA1";
  r.remote_ip = "10.0.0.7";
  r.action = "DeleteObjects";
  r.bucket = "data";
  r.detail = "a\"quote\nb\\c\x01\r\tday";
  r.status = 200;
  std::string line = RenderAuditLine(r);
  EXPECT_EQ(
      line,
      "{\"time\":\"2023-11-14T22:13:20.000Z\",\"request_id\":\"ID1\","
      "\"principal\":\"arn:aws:iam::000000000000:user/alice\",\"access_key\":\"AKIA1\","
      "\"remote\":\"10.0.0.7\",\"action\":\"DeleteObjects\",\"bucket\":\"data\","
      "\"detail\":\"a\\\"quote\\nb\\\\c\\u0001\\r\\tday\",\"status\":200,\"result\":\"ok\"}\n");
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line, whatever the key held
  r.error = "AccessDenied";
  r.status = 403;
  r.detail.clear();
  EXPECT_NE(RenderAuditLine(r).find("\"status\":403,\"result\":\"AccessDenied\"}"),
            std::string::npos);
}

TEST(Audit, ChangesAndDeletesAreAuditedReadsAndWritesOfDataAreNot) {
  for (Op op : {Op::kDeleteObject, Op::kDeleteObjects, Op::kDeleteBucket, Op::kPutBucketPolicy,
                Op::kDeleteBucketPolicy, Op::kPutBucketVersioning, Op::kPutObjectRetention,
                Op::kPutObjectLegalHold, Op::kPutObjectLockConfiguration, Op::kPutBucketReplication,
                Op::kPutBucketLifecycle, Op::kPutBucketAcl, Op::kPutPublicAccessBlock,
                Op::kAbortMultipartUpload})
    EXPECT_TRUE(IsAudited(op)) << OpName(op);
  for (Op op : {Op::kGetObject, Op::kHeadObject, Op::kPutObject, Op::kListObjectsV2,
                Op::kUploadPart, Op::kGetBucketPolicy, Op::kListBuckets})
    EXPECT_FALSE(IsAudited(op)) << OpName(op);
}

}  // namespace
}  // namespace sluice::s3
