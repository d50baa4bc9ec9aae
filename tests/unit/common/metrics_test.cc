#include "common/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace sluice::metrics {
namespace {

TEST(CounterBlockTest, SumsWhatEveryThreadAdded) {
  CounterBlock c(13);  // not a whole cache line
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; t++)  // more threads than shards: shards are shared
    threads.emplace_back([&c] {
      for (int i = 0; i < 10000; i++) {
        c.Add(0);
        c.Add(12, 3);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Sum(0), 120000u);
  EXPECT_EQ(c.Sum(12), 360000u);
  for (size_t i = 1; i < 12; i++) EXPECT_EQ(c.Sum(i), 0u) << i;
}

TEST(HistogramBlockTest, BucketsAreCumulativeAndTheSumIsExact) {
  HistogramBlock h(2, {10, 100, 1000});
  for (int64_t v : {1, 10, 11, 100, 5000, 7}) h.Observe(1, v);
  auto s = h.Read(1);
  ASSERT_EQ(s.cumulative.size(), 4u);
  EXPECT_EQ(s.cumulative[0], 3u);  // <= 10: 1, 10, 7 (le is inclusive)
  EXPECT_EQ(s.cumulative[1], 5u);  // <= 100: 11, 100
  EXPECT_EQ(s.cumulative[2], 5u);
  EXPECT_EQ(s.cumulative[3], 6u);  // +Inf
  EXPECT_EQ(s.count, 6u);
  EXPECT_EQ(s.sum, 5129u);
  EXPECT_EQ(h.Read(0).count, 0u);  // histograms of a block are apart
}

TEST(TextWriterTest, WritesTheExpositionFormat) {
  TextWriter w;
  w.Family("x_total", "counter", "Things.\nSecond line with \\ backslash.");
  w.Sample("x_total", Labels{{"a", "q\"uo\\te\nnl"}, {"b", "2"}}, uint64_t{7});
  w.Sample("x_total", {}, 1.5);
  HistogramBlock h(1, {500'000'000, 1'000'000'000});
  h.Observe(0, 250'000'000);
  h.Observe(0, 2'000'000'000);
  w.Family("d_seconds", "histogram", "Durations.");
  w.Histogram("d_seconds", Labels{{"op", "Get"}}, h, 0, 1e-9);
  EXPECT_EQ(w.text(),
            "# HELP x_total Things.\\nSecond line with \\\\ backslash.\n"
            "# TYPE x_total counter\n"
            "x_total{a=\"q\\\"uo\\\\te\\nnl\",b=\"2\"} 7\n"
            "x_total 1.5\n"
            "# HELP d_seconds Durations.\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{op=\"Get\",le=\"0.5\"} 1\n"
            "d_seconds_bucket{op=\"Get\",le=\"1\"} 1\n"
            "d_seconds_bucket{op=\"Get\",le=\"+Inf\"} 2\n"
            "d_seconds_sum{op=\"Get\"} 2.25\n"
            "d_seconds_count{op=\"Get\"} 2\n");
}

TEST(BoundsTest, AreStrictlyIncreasing) {
  for (const auto* b : {&RequestLatencyBounds(), &SyncLatencyBounds()})
    for (size_t i = 1; i < b->size(); i++) EXPECT_LT((*b)[i - 1], (*b)[i]);
}

}  // namespace
}  // namespace sluice::metrics
