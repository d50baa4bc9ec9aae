// Metric primitives and the Prometheus text exposition format (version 0.0.4).
//
// The hot path is a relaxed atomic add on a cache line the calling thread mostly owns: the
// cells of a block are sharded by thread (kShards copies, each thread writes the copy its
// ShardIndex() names), and a scrape sums the copies. Nothing allocates or locks once a
// block is built, so recording costs a few nanoseconds per request (BENCHMARKS.md,
// "Metrics").
//
// Gauges are not kept here: whoever renders a scrape reads them from their owners (open
// connections, capacity, backlog) at that moment.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::metrics {

inline constexpr size_t kShards = 8;

// This thread's shard: threads are numbered as they first record, modulo kShards.
size_t ShardIndex();

// n counters. Thread-safe; Add never blocks.
class CounterBlock {
 public:
  explicit CounterBlock(size_t n);
  void Add(size_t i, uint64_t v = 1) {
    size_t j = ShardIndex() * stride_ + i;
    lines_[j / 8].cell[j % 8].fetch_add(v, std::memory_order_relaxed);
  }
  uint64_t Sum(size_t i) const;
  size_t size() const { return n_; }

 private:
  struct alignas(64) Line {
    std::atomic<uint64_t> cell[8];
  };
  size_t n_, stride_;  // stride_: n_ rounded up to whole cache lines
  std::unique_ptr<Line[]> lines_;
};

// n histograms sharing one set of upper bounds, in integer units (nanoseconds, bytes).
// Observe finds the bucket by binary search and adds to it and to the sum.
class HistogramBlock {
 public:
  HistogramBlock(size_t n, std::vector<int64_t> bounds);
  void Observe(size_t i, int64_t value);
  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (== count)
    uint64_t count = 0;
    uint64_t sum = 0;  // in the bounds' units
  };
  Snapshot Read(size_t i) const;
  const std::vector<int64_t>& bounds() const { return bounds_; }
  size_t size() const { return cells_.size() / width_; }

 private:
  std::vector<int64_t> bounds_;
  size_t width_;  // bounds + Inf + sum
  CounterBlock cells_;
};

// Latency bounds for request durations, in nanoseconds: 100 µs to 60 s.
const std::vector<int64_t>& RequestLatencyBounds();
// Latency bounds for a sync or a commit, in nanoseconds: 50 µs to 10 s.
const std::vector<int64_t>& SyncLatencyBounds();

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

// Writes the text format. Each family once: Family() then its samples.
class TextWriter {
 public:
  // type: "counter", "gauge" or "histogram".
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, const Labels& labels, double value);
  void Sample(std::string_view name, const Labels& labels, uint64_t value);
  // A histogram's _bucket, _sum and _count samples; `scale` turns the block's units into
  // the family's (1e-9: nanoseconds to seconds).
  void Histogram(std::string_view name, const Labels& labels, const HistogramBlock& block, size_t i,
                 double scale);
  const std::string& text() const { return out_; }

 private:
  void Head(std::string_view name, const Labels& labels, std::string_view extra_name = {},
            std::string_view extra_value = {});
  std::string out_;
};

// A label value as the format wants it: backslash, double quote and newline escaped.
std::string EscapeLabelValue(std::string_view v);

}  // namespace sluice::metrics
