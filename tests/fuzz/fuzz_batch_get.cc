// compat: batch-get
// BatchGet: the request body parser, and the tar headers the answer is made of. Every
// header written for an arbitrary name, size and pax records must parse back (client/tar.cc,
// the reader the client library and the PyTorch loader use) to the same size, with the
// name whole in the ustar field or in a pax "path" record.
#include <sluice/tar.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common/tar.h"
#include "s3/batch_request.h"

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto parsed = s3::ParseBatchGet(in);
  if (parsed.ok() && (parsed->items.empty() || parsed->items.size() > s3::kMaxBatchGetItems))
    std::abort();

  if (size < 9) return 0;
  TarMember m;
  uint64_t sz;
  std::memcpy(&sz, data, 8);
  m.size = sz >> (data[8] % 64);
  std::string_view rest = in.substr(9);
  size_t cut = rest.find('\0');
  m.name = std::string(rest.substr(0, cut));
  if (cut != std::string_view::npos) {
    std::string_view v = rest.substr(cut + 1);
    if (v.find('=') == std::string_view::npos) m.records.push_back({"SLUICE.x", std::string(v)});
  }
  const std::string h = TarHeaderOf(m);
  if (h.empty() || h.size() % 512) std::abort();
  const auto* p = reinterpret_cast<const unsigned char*>(h.data());
  client::TarHeader first;
  if (client::ParseTarHeader(p, &first) != client::TarBlock::kHeader) std::abort();
  if (first.type == 'x') {
    const size_t pax_blocks = (first.size + 511) / 512;
    if (h.size() != 512 * (2 + pax_blocks)) std::abort();
    client::TarHeader member;
    if (client::ParseTarHeader(p + h.size() - 512, &member) != client::TarBlock::kHeader)
      std::abort();
    if (member.type != '0') std::abort();
    const std::string records = h.substr(512, first.size);
    if (m.name.size() > 100 && records.find(" path=" + m.name + "\n") == std::string::npos)
      std::abort();
    if (m.size < (1ULL << 33) && member.size != m.size) std::abort();
  } else {
    if (h.size() != 512 || first.type != '0' || first.size != m.size || first.name != m.name)
      std::abort();
  }
  return 0;
}
