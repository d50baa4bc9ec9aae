// The access log as the S3 layer sees it: one line per answered request (handler.cc),
// written by an implementation the server wires in (server/log_sink.h). Separate from the
// audit log (s3/audit.h), which records who changed what.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::s3 {

class AccessLog {
 public:
  virtual ~AccessLog() = default;
  // One line, without its newline, for a request answered at `time_micros` (microseconds
  // since the Unix epoch). The line may hold any bytes: the implementation escapes control
  // characters, so a key or header a client sent can never forge a line. Never fails the
  // request and never drops a line; it may wait while its writer is far behind.
  virtual void Write(int64_t time_micros, std::string_view line) = 0;
};

}  // namespace sluice::s3
