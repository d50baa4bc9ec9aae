// Encryption at rest for the secrets IAM keeps (secret access keys, session tokens):
// AES-256-GCM under a 32-byte master key from a key file kept apart from the data.
//
// Why encrypt rather than hash: SigV4 verification needs the secret itself (it is an HMAC
// key), so the server must be able to recover it. A copy of the data directory (a backup,
// a disk image) then holds only ciphertext; the key file is what an operator guards.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "io/env.h"

namespace sluice::auth {

class SecretBox {
 public:
  static constexpr size_t kKeySize = 32;
  // `key` is kKeySize raw bytes; `random` supplies nonces and must outlive the box.
  SecretBox(std::string key, io::Random* random) : key_(std::move(key)), random_(random) {}

  // base64(nonce[12] | ciphertext | tag[16]); `aad` binds the ciphertext to its record
  // (the access key), so a ciphertext moved to another record fails to open.
  std::string Seal(std::string_view plaintext, std::string_view aad) const;
  // kCorruption when the ciphertext was altered, moved, or sealed under another key.
  Result<std::string> Open(std::string_view sealed, std::string_view aad) const;

 private:
  std::string key_;
  io::Random* random_;
};

}  // namespace sluice::auth
