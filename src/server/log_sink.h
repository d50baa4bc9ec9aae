// A log sink that keeps the write off the request path (issue #23): a line is formatted and
// copied into a buffer under a mutex, and a writer thread hands the buffer to the file in one
// write when it holds kWriteAt bytes or every `interval`, whichever comes first, as nginx's
// `access_log ... buffer=64k flush=1s` does. Memory is bounded: a logger that finds kLimit
// bytes waiting blocks until the writer has taken them, so no line is ever dropped. Lines
// stay in order. Flush() and the destructor write everything out; a kill -9 loses at most
// what arrived within the last interval. docs/architecture.md "The access log".
//
// spdlog's own async logger wakes its worker for every line (a futex wake and a context
// switch per request on a busy 2-core machine); this sink wakes its writer once per
// kWriteAt bytes.
//
// It is the S3 layer's access log (s3/access_log.h): Write() lays the line out ("TIME access
// MESSAGE", with log_format.h's time and escaping) straight into the buffer. It is not an
// spdlog sink: spdlog's per-line machinery (the message record, a second lock, the
// pattern's formatters, a copy) cost 1,191 instructions a 4 KiB GET where Write() costs 755
// (BENCHMARKS.md, "The access log, off the request path").
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "io/env.h"
#include "s3/access_log.h"
#include "server/log_format.h"

namespace sluice::server {

class BufferedLogSink final : public s3::AccessLog {
 public:
  static constexpr size_t kWriteAt = size_t{64} * 1024;
  static constexpr size_t kLimit = size_t{4} * 1024 * 1024;

  // `name` is for error messages. `file` is written from the writer thread only.
  BufferedLogSink(std::unique_ptr<io::WritableFile> file, std::string name,
                  std::chrono::milliseconds interval = std::chrono::milliseconds(200));
  ~BufferedLogSink() override;
  BufferedLogSink(const BufferedLogSink&) = delete;
  BufferedLogSink& operator=(const BufferedLogSink&) = delete;

  // Writes that failed (the lines they held are lost; the first failure is logged).
  uint64_t failures() const;
  // Lines whose logger had to wait for the writer (kLimit bytes were pending): the file is
  // slower than the traffic, and requests are being held back (/metrics).
  uint64_t waits() const;

  // s3::AccessLog: "TIME access LINE\n", control characters in LINE escaped.
  void Write(int64_t time_micros, std::string_view line) override;

  // Writes everything logged so far to the file, on the calling thread: a clean stop.
  void Flush() { Drain(); }

  // Writes what is pending to the current file, then writes to `file` from now on and
  // closes the old one: SIGHUP after logrotate moved the file away (README.md "Logs").
  void Reopen(std::unique_ptr<io::WritableFile> file);

 private:
  // Waits while kLimit bytes are pending (back-pressure, never loss), appends what
  // `append(pending_)` adds, and wakes the writer when that crossed kWriteAt.
  template <class Append>
  void Enqueue(Append&& append);
  void WriterLoop();
  // Takes what is pending and writes it; write_mu_ keeps two writes in order.
  void Drain();

  std::unique_ptr<io::WritableFile> file_;  // under write_mu_ once the writer runs
  std::string name_;
  std::chrono::milliseconds interval_;

  mutable std::mutex mu_;  // pending_, stop_, failures_, waits_
  std::condition_variable wake_writer_;
  std::condition_variable drained_;
  std::string pending_;
  bool stop_ = false;
  uint64_t failures_ = 0;
  uint64_t waits_ = 0;
  TimeText time_;  // Write()'s clock text, under mu_

  std::mutex write_mu_;
  std::string writing_;  // the buffer being written; swapped with pending_ (no allocation)
  std::thread writer_;
};

}  // namespace sluice::server
