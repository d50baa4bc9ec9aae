#include "common/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sluice::metrics {
namespace {

constexpr size_t kCellsPerLine = 64 / sizeof(uint64_t);

void AppendNumber(std::string* out, double v) {
  if (std::isnan(v)) {
    *out += "NaN";
  } else if (std::isinf(v)) {
    *out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.15g", v);
    out->append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

size_t ShardIndex() {
  static std::atomic<size_t> next{0};
  thread_local size_t mine = next.fetch_add(1, std::memory_order_relaxed) % kShards;
  return mine;
}

CounterBlock::CounterBlock(size_t n)
    : n_(n), stride_((n + kCellsPerLine - 1) / kCellsPerLine * kCellsPerLine) {
  const size_t lines = stride_ * kShards / kCellsPerLine;
  lines_.reset(new Line[lines]);  // aligned new: each Line starts a cache line
  for (size_t l = 0; l < lines; l++)
    for (auto& c : lines_[l].cell) c.store(0, std::memory_order_relaxed);
}

uint64_t CounterBlock::Sum(size_t i) const {
  uint64_t s = 0;
  for (size_t k = 0; k < kShards; k++) {
    size_t j = k * stride_ + i;
    s += lines_[j / 8].cell[j % 8].load(std::memory_order_relaxed);
  }
  return s;
}

HistogramBlock::HistogramBlock(size_t n, std::vector<int64_t> bounds)
    : bounds_(std::move(bounds)), width_(bounds_.size() + 2), cells_(n * width_) {}

void HistogramBlock::Observe(size_t i, int64_t value) {
  size_t b = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                 bounds_.begin());
  cells_.Add(i * width_ + b);
  cells_.Add(i * width_ + bounds_.size() + 1, value < 0 ? 0 : static_cast<uint64_t>(value));
}

HistogramBlock::Snapshot HistogramBlock::Read(size_t i) const {
  Snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t run = 0;
  for (size_t b = 0; b <= bounds_.size(); b++) {
    run += cells_.Sum(i * width_ + b);
    s.cumulative[b] = run;
  }
  s.count = run;
  s.sum = cells_.Sum(i * width_ + bounds_.size() + 1);
  return s;
}

const std::vector<int64_t>& RequestLatencyBounds() {
  static const std::vector<int64_t> b = {
      100'000,       250'000,       500'000,       1'000'000,      2'500'000,      5'000'000,
      10'000'000,    25'000'000,    50'000'000,    100'000'000,    250'000'000,    500'000'000,
      1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000, 30'000'000'000, 60'000'000'000};
  return b;
}

const std::vector<int64_t>& SyncLatencyBounds() {
  static const std::vector<int64_t> b = {
      50'000,     100'000,    250'000,    500'000,     1'000'000,   2'500'000,     5'000'000,
      10'000'000, 25'000'000, 50'000'000, 100'000'000, 250'000'000, 1'000'000'000, 10'000'000'000};
  return b;
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void TextWriter::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (char c : help) {  // help text escapes only backslash and newline
    if (c == '\\')
      out_ += "\\\\";
    else if (c == '\n')
      out_ += "\\n";
    else
      out_ += c;
  }
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void TextWriter::Head(std::string_view name, const Labels& labels, std::string_view extra_name,
                      std::string_view extra_value) {
  out_ += name;
  if (labels.empty() && extra_name.empty()) {
    out_ += ' ';
    return;
  }
  out_ += '{';
  bool first = true;
  auto one = [&](std::string_view n, std::string_view v) {
    if (!first) out_ += ',';
    first = false;
    out_ += n;
    out_ += "=\"";
    out_ += EscapeLabelValue(v);
    out_ += '"';
  };
  for (const auto& [n, v] : labels) one(n, v);
  if (!extra_name.empty()) one(extra_name, extra_value);
  out_ += "} ";
}

void TextWriter::Sample(std::string_view name, const Labels& labels, double value) {
  Head(name, labels);
  AppendNumber(&out_, value);
  out_ += '\n';
}

void TextWriter::Sample(std::string_view name, const Labels& labels, uint64_t value) {
  Head(name, labels);
  out_ += std::to_string(value);
  out_ += '\n';
}

void TextWriter::Histogram(std::string_view name, const Labels& labels, const HistogramBlock& block,
                           size_t i, double scale) {
  HistogramBlock::Snapshot s = block.Read(i);
  const std::string bucket = std::string(name) + "_bucket";
  for (size_t b = 0; b <= block.bounds().size(); b++) {
    std::string le;
    if (b == block.bounds().size()) {
      le = "+Inf";
    } else {
      AppendNumber(&le, static_cast<double>(block.bounds()[b]) * scale);
    }
    Head(bucket, labels, "le", le);
    out_ += std::to_string(s.cumulative[b]);
    out_ += '\n';
  }
  Sample(std::string(name) + "_sum", labels, static_cast<double>(s.sum) * scale);
  Sample(std::string(name) + "_count", labels, s.count);
}

}  // namespace sluice::metrics
