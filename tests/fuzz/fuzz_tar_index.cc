// The tar member table reader (common/tar_index.cc) on the bytes of any PUT: whatever they
// are, fed in any split, it must give the same table, or none, and every member it finds
// must lie within the bytes seen. compat: tar-members
#include <cstdint>
#include <cstdlib>

#include "common/tar_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t split = data[0];  // the size of the pieces fed
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const size_t n = size - 1;
  sluice::TarIndexer whole(64);
  whole.Update(bytes, n);
  auto a = whole.Finish();
  sluice::TarIndexer pieces(64);
  for (size_t at = 0; at < n;) {
    size_t k = split ? std::min(split, n - at) : n - at;
    pieces.Update(bytes + at, k);
    at += k;
  }
  auto b = pieces.Finish();
  if (a.has_value() != b.has_value()) std::abort();
  if (!a) return 0;
  if (a->size() != b->size()) std::abort();
  for (size_t i = 0; i < a->size(); i++) {
    const auto& m = (*a)[i];
    if (m.name != (*b)[i].name || m.offset != (*b)[i].offset || m.size != (*b)[i].size)
      std::abort();
    if (m.name.empty() || m.offset > n || m.size > n - m.offset) std::abort();
  }
  return 0;
}
