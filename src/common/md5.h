// Md5Stream: MD5 (RFC 1321) that hashes several streams at once in SIMD lanes.
//
// S3 defines the ETag of a PUT and of every part as the MD5 of its bytes, and MD5 is
// serial: one stream cannot go faster than one core's dependency chain (OpenSSL: about
// 725 MiB/s here). A large upload arrives as several parts at once, though, and eight
// independent streams fill the eight 32-bit lanes of a 256-bit register (AVX2, or
// AVX-512VL's rotates and three-input logic where the CPU has them): on this machine
// eight streams hash at 3.9x the one-stream rate on one core. UpdateShared() is the way
// in: concurrent callers (the blocking pool's threads, each with one upload's piece) are
// hashed together by whichever of them is first, and each returns when its own bytes are
// done. There is no thread of its own.
//
// Why hand-written: neither OpenSSL nor Debian's ISA-L (2.30, no crypto part) has a
// multi-buffer MD5, and MD5 was 45-51% of all CPU samples of a 4 GiB upload (see
// BENCHMARKS.md). Tested against OpenSSL on random lengths and lane mixes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

class Md5Stream {
 public:
  Md5Stream() { Reset(); }
  // Hashes on this thread.
  void Update(const void* data, size_t n);
  // The same, with the full blocks hashed alongside whatever other threads are hashing
  // through UpdateShared at the moment (up to eight streams per pass). Blocks until this
  // stream's bytes are hashed; for large pieces on threads that may block.
  void UpdateShared(const void* data, size_t n);
  // The raw 16-byte digest; the object is reset for a new stream.
  std::string Finish();
  // The digest so far, leaving the stream as it is.
  std::string Peek() const;

  // The stream's state, to continue it later (an appendable object keeps it with its record,
  // so an append hashes only the bytes it adds): an opaque string of at most 93 bytes.
  std::string SaveState() const;
  // Continues a saved stream; false (and the stream reset) for a string SaveState did not make.
  bool RestoreState(std::string_view state);
  // Bytes hashed so far.
  uint64_t length() const { return len_; }

  // The kernel in use: "avx512vl", "avx2" or "scalar" (for tests and the benchmark notes).
  static const char* Kernel();
  // Forces a kernel ("scalar", "avx2"; anything else: the best the CPU has), for tests.
  static void ForceKernelForTesting(const char* name);

 private:
  friend struct Md5Engine;
  void Reset();
  uint32_t h_[4] = {};
  uint64_t len_ = 0;  // bytes hashed so far, buffered ones included
  unsigned char buf_[64] = {};
  size_t buf_len_ = 0;
};

}  // namespace sluice
