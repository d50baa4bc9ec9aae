#include "server/log_sink.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace sluice::server {

BufferedLogSink::BufferedLogSink(std::unique_ptr<io::WritableFile> file, std::string name,
                                 std::chrono::milliseconds interval)
    : file_(std::move(file)), name_(std::move(name)), interval_(interval) {
  pending_.reserve(2 * kWriteAt);
  writing_.reserve(2 * kWriteAt);
  writer_ = std::thread([this] { WriterLoop(); });
}

BufferedLogSink::~BufferedLogSink() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  wake_writer_.notify_all();
  writer_.join();
  Drain();
  file_->Close().IgnoreError();
}

uint64_t BufferedLogSink::failures() const {
  std::lock_guard<std::mutex> l(mu_);
  return failures_;
}

uint64_t BufferedLogSink::waits() const {
  std::lock_guard<std::mutex> l(mu_);
  return waits_;
}

template <class Append>
void BufferedLogSink::Enqueue(Append&& append) {
  std::unique_lock<std::mutex> l(mu_);
  // Back-pressure rather than loss: wait while the writer is behind by kLimit bytes. A
  // stopped sink takes no more (the destructor drains once, after the writer has ended).
  if (pending_.size() >= kLimit && !stop_) {
    ++waits_;
    drained_.wait(l, [&] { return pending_.size() < kLimit || stop_; });
  }
  bool was_below = pending_.size() < kWriteAt;
  append(pending_);
  // One wake per kWriteAt bytes, not per line.
  if (was_below && pending_.size() >= kWriteAt) wake_writer_.notify_one();
}

void BufferedLogSink::Write(int64_t time_micros, std::string_view line) {
  static constexpr std::string_view kTag = " access ";
  Enqueue([&](std::string& out) {
    char time[TimeText::kSize];
    time_.Format(time_micros, time);
    out.append(time, sizeof time);
    out.append(kTag);
    AppendEscaped(line, out);
    out.push_back('\n');
  });
}

void BufferedLogSink::Reopen(std::unique_ptr<io::WritableFile> file) {
  Drain();  // lines logged before the reopen go to the old file
  std::unique_ptr<io::WritableFile> old;
  {
    std::lock_guard<std::mutex> w(write_mu_);
    old = std::exchange(file_, std::move(file));
  }
  if (Status st = old->Close(); !st.ok()) spdlog::error("{}: {}", name_, st.ToString());
}

void BufferedLogSink::Drain() {
  std::lock_guard<std::mutex> w(write_mu_);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (pending_.empty()) return;
    pending_.swap(writing_);
  }
  drained_.notify_all();
  Status st = file_->Append(writing_.data(), writing_.size());
  writing_.clear();
  if (!st.ok()) {
    uint64_t n;
    {
      std::lock_guard<std::mutex> l(mu_);
      n = ++failures_;
    }
    // Said once, to the server's own log (never to this sink: it may be the one failing).
    if (n == 1) spdlog::error("{}: {} (lines lost)", name_, st.ToString());
  }
}

void BufferedLogSink::WriterLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    wake_writer_.wait_for(l, interval_, [&] { return stop_ || pending_.size() >= kWriteAt; });
    if (pending_.empty()) continue;
    l.unlock();
    Drain();
    l.lock();
  }
}

}  // namespace sluice::server
