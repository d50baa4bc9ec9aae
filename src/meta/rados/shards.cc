#include "meta/rados/shards.h"

#include <algorithm>
#include <cstdint>

#include "meta/kv/codec.h"

namespace sluice::meta::shards {
namespace {

constexpr char kFormat = 1;

void PutStr(std::string* out, std::string_view s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  for (int i = 3; i >= 0; i--) out->push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out->append(s);
}

bool GetStr(std::string_view* in, std::string* s) {
  if (in->size() < 4) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; i++) n = (n << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(4);
  if (n > in->size()) return false;
  s->assign(in->data(), n);
  in->remove_prefix(n);
  return true;
}

Status Bad(const char* what) { return Status(Err::kCorruption, std::string("bad shard ") + what); }

}  // namespace

bool Range::Serves(std::string_view key) const {
  if (state == State::kBuilding) return false;
  if (key < std::string_view(lo)) return false;
  if (state == State::kMoved) return key < std::string_view(split_at);
  return hi.empty() || key < std::string_view(hi);
}

std::string EncodeRange(const Range& r) {
  std::string out(1, kFormat);
  out.push_back(static_cast<char>(r.state));
  PutStr(&out, r.lo);
  PutStr(&out, r.hi);
  PutStr(&out, r.split_at);
  PutStr(&out, r.target);
  PutStr(&out, std::to_string(r.since_micros));
  if (!r.pack.empty()) PutStr(&out, r.pack);  // absent before listing packs
  return out;
}

Status DecodeRange(std::string_view in, Range* r) {
  if (in.size() < 2 || in[0] != kFormat) return Bad("range");
  const char st = in[1];
  if (st != 's' && st != 'p' && st != 'm' && st != 'b') return Bad("range state");
  r->state = static_cast<Range::State>(st);
  in.remove_prefix(2);
  std::string since;
  if (!GetStr(&in, &r->lo) || !GetStr(&in, &r->hi) || !GetStr(&in, &r->split_at) ||
      !GetStr(&in, &r->target) || !GetStr(&in, &since))
    return Bad("range");
  r->pack.clear();
  if (!in.empty() && (!GetStr(&in, &r->pack) || !in.empty() || r->pack.size() < 2 ||
                      (r->pack[0] != 'b' && r->pack[0] != 'p')))
    return Bad("range packing");
  r->since_micros = std::strtoll(since.c_str(), nullptr, 10);
  return Status::Ok();
}

Status RangeOf(const std::optional<std::string>& raw, Range* r) {
  if (!raw || raw->empty()) {
    *r = Range{};
    return Status::Ok();
  }
  return DecodeRange(*raw, r);
}

size_t Map::Find(std::string_view key) const {
  // The last shard whose lower bound is <= key.
  auto it = std::upper_bound(shards.begin(), shards.end(), key,
                             [](std::string_view k, const auto& e) { return k < e.first; });
  return it == shards.begin() ? 0 : static_cast<size_t>(it - shards.begin()) - 1;
}

std::string EncodeMap(const Map& m) {
  std::string out(1, kFormat);
  for (const auto& [lo, oid] : m.shards) {
    PutStr(&out, lo);
    PutStr(&out, oid);
  }
  return out;
}

Status DecodeMap(std::string_view in, Map* m) {
  if (in.empty() || in[0] != kFormat) return Bad("map");
  in.remove_prefix(1);
  m->shards.clear();
  while (!in.empty()) {
    std::string lo, oid;
    if (!GetStr(&in, &lo) || !GetStr(&in, &oid)) return Bad("map");
    if (!m->shards.empty() && lo <= m->shards.back().first) return Bad("map order");
    m->shards.emplace_back(std::move(lo), std::move(oid));
  }
  if (m->shards.empty() || !m->shards.front().first.empty()) return Bad("map start");
  return Status::Ok();
}

std::optional<std::string_view> RecordObjectKey(std::string_view k) {
  if (!k.empty() && k[0] == '~') k.remove_prefix(1);  // a tail: placed with its record
  if (k.empty()) return std::nullopt;
  const char kind = k[0];
  if (kind != codec::kObject && kind != codec::kVersion && kind != codec::kNullVersion &&
      kind != codec::kLatestMarker && kind != codec::kUpload)
    return std::nullopt;
  const size_t start = k.find('\0');
  if (start == std::string_view::npos) return std::nullopt;
  std::string_view rest = k.substr(start + 1);
  if (kind == codec::kVersion || kind == codec::kUpload) {
    const size_t end = rest.find('\0');
    if (end != std::string_view::npos) rest = rest.substr(0, end);
  }
  return rest;
}

}  // namespace sluice::meta::shards
