#include "s3/request_metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::s3 {
namespace {

std::string Render(const RequestMetrics& m) {
  metrics::TextWriter w;
  m.Render(&w);
  return w.text();
}

bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

RequestMetrics::Outcome Answer(Op op, int status, std::string_view bucket = {}, Err e = Err::kOk) {
  RequestMetrics::Outcome o;
  o.slot = RequestMetrics::Slot(op);
  o.status = status;
  o.bucket = bucket;
  o.error = e;
  return o;
}

TEST(RequestMetricsTest, CountsByOperationAndStatusAndTimesThem) {
  RequestMetrics m;
  m.Started();
  auto o = Answer(Op::kGetObject, 200, "data");
  o.bytes_out = 4096;
  o.nanos = 300'000;  // 0.3 ms
  m.Finished(o);
  m.Started();
  m.Finished(Answer(Op::kGetObject, 404, "data", Err::kNoSuchKey));
  m.Started();  // still in flight
  const std::string t = Render(m);
  EXPECT_TRUE(Has(t, "sluice_requests_total{op=\"GetObject\",status=\"200\"} 1")) << t;
  EXPECT_TRUE(Has(t, "sluice_requests_total{op=\"GetObject\",status=\"404\"} 1")) << t;
  EXPECT_TRUE(Has(t, "sluice_request_duration_seconds_bucket{op=\"GetObject\",le=\"0.00025\"} 1"))
      << t;
  EXPECT_TRUE(Has(t, "sluice_request_duration_seconds_bucket{op=\"GetObject\",le=\"0.0005\"} 2"))
      << t;
  EXPECT_TRUE(Has(t, "sluice_request_duration_seconds_count{op=\"GetObject\"} 2")) << t;
  EXPECT_TRUE(Has(t, "sluice_sent_bytes_total{op=\"GetObject\"} 4096")) << t;
  EXPECT_TRUE(Has(t, "sluice_errors_total{code=\"NoSuchKey\"} 1")) << t;
  EXPECT_TRUE(Has(t, "sluice_requests_in_flight 1")) << t;
  EXPECT_TRUE(Has(t, "sluice_bucket_requests_total{bucket=\"data\",class=\"2xx\"} 1")) << t;
  EXPECT_TRUE(Has(t, "sluice_bucket_requests_total{bucket=\"data\",class=\"4xx\"} 1")) << t;
  EXPECT_TRUE(Has(t, "sluice_bucket_sent_bytes_total{bucket=\"data\"} 4096")) << t;
  // Operations never seen are not listed.
  EXPECT_EQ(t.find("op=\"PutObject\""), std::string::npos);
}

TEST(RequestMetricsTest, EndpointsAndUnknownStatusesHaveTheirOwnLabels) {
  RequestMetrics m;
  RequestMetrics::Outcome o;
  o.slot = RequestMetrics::Slot(Endpoint::kUnrouted);
  o.status = 599;  // no answer carries it: "other"
  m.Finished(o);
  o.slot = RequestMetrics::Slot(Endpoint::kAdmin);
  o.status = 200;
  m.Finished(o);
  const std::string t = Render(m);
  EXPECT_TRUE(Has(t, "sluice_requests_total{op=\"Unrouted\",status=\"other\"} 1")) << t;
  EXPECT_TRUE(Has(t, "sluice_requests_total{op=\"Admin\",status=\"200\"} 1")) << t;
}

TEST(RequestMetricsTest, NotModifiedIsNotAnError) {
  RequestMetrics m;
  m.Finished(Answer(Op::kGetObject, 304, "data", Err::kNotModified));
  EXPECT_EQ(Render(m).find("sluice_errors_total{"), std::string::npos);
}

TEST(RequestMetricsTest, BucketLabelsAreCapped) {
  RequestMetrics m(2);
  // A failure never takes a slot: a client cannot fill the table with names that do not exist.
  m.Finished(Answer(Op::kHeadBucket, 404, "nope", Err::kNoSuchBucket));
  m.Finished(Answer(Op::kPutObject, 200, "one"));
  m.Finished(Answer(Op::kPutObject, 200, "two"));
  m.Finished(Answer(Op::kPutObject, 200, "three"));
  m.Finished(Answer(Op::kPutObject, 500, "one", Err::kInternal));
  const std::string t = Render(m);
  EXPECT_TRUE(Has(t, "sluice_bucket_requests_total{bucket=\"one\",class=\"2xx\"} 1")) << t;
  EXPECT_TRUE(Has(t, "sluice_bucket_requests_total{bucket=\"one\",class=\"5xx\"} 1")) << t;
  EXPECT_TRUE(Has(t, "sluice_bucket_requests_total{bucket=\"two\",class=\"2xx\"} 1")) << t;
  EXPECT_TRUE(Has(t, "sluice_bucket_requests_total{bucket=\"_other\",class=\"2xx\"} 1")) << t;
  EXPECT_TRUE(Has(t, "sluice_bucket_requests_total{bucket=\"_other\",class=\"4xx\"} 1")) << t;
  EXPECT_EQ(t.find("bucket=\"three\""), std::string::npos);
  EXPECT_EQ(t.find("bucket=\"nope\""), std::string::npos);
  EXPECT_TRUE(Has(t, "sluice_metrics_bucket_slots{kind=\"used\"} 2")) << t;
}

}  // namespace
}  // namespace sluice::s3
