// Encryption at rest of object data (SSE, s3/sse.h): AES-256-GCM over fixed frames, so a
// ranged read decrypts only the frames it touches and every frame is authenticated.
//
// Layout of one encrypted run of bytes: frame i holds plaintext [i * kFramePlain,
// (i + 1) * kFramePlain) as ciphertext followed by its 16-byte tag; only the last frame
// may be shorter. The nonce is the frame's index (96 bits, big-endian), which is safe
// because every key encrypts exactly one run (s3/sse.h derives one key per data id). The
// additional data is the index and whether the frame is the last, so frames cannot be
// reordered, dropped from the end or moved between runs without failing to open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice {

class FrameCipher {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kTag = 16;
  static constexpr size_t kFramePlain = size_t{64} * 1024;
  static constexpr size_t kFrameStored = kFramePlain + kTag;

  // `key`: kKeySize raw bytes. Thread-safe: each call sets up its own cipher context.
  explicit FrameCipher(std::string_view key) : key_(key) {}

  // Encrypts frame `index` (n <= kFramePlain bytes) into out[n + kTag].
  void Seal(uint64_t index, bool last, const char* in, size_t n, char* out) const;
  // Decrypts a stored frame (n bytes, tag included) into out[n - kTag]; kCorruption when
  // it fails to authenticate (altered, moved, or another key).
  Status Open(uint64_t index, bool last, const char* in, size_t n, char* out) const;

  // Stored bytes of `plain` bytes of plaintext, and the reverse (UINT64_MAX for a stored
  // size no plaintext encrypts to: a torn or altered run).
  static uint64_t StoredSize(uint64_t plain);
  static uint64_t PlainSize(uint64_t stored);

 private:
  std::string key_;
};

}  // namespace sluice
