#include "meta/rados/packs.h"

#include <cstdint>

namespace sluice::meta::packs {
namespace {

constexpr char kFormat = 1;

void PutStr(std::string* out, std::string_view s) {
  const auto n = static_cast<uint32_t>(s.size());
  for (int i = 3; i >= 0; i--) out->push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out->append(s);
}

bool GetStr(std::string_view* in, std::string_view* s) {
  if (in->size() < 4) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; i++) n = (n << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(4);
  if (n > in->size()) return false;
  *s = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

}  // namespace

std::string PackPrefix(std::string_view gen) {
  std::string p(kPackKind);
  p.append(gen);
  p.push_back('/');
  return p;
}

std::string DeltaPrefix(std::string_view gen) {
  std::string p(kDeltaKind);
  p.append(gen);
  p.push_back('/');
  return p;
}

std::string DeltaValue(const std::optional<std::string_view>& head) {
  if (!head) return kRemoved;
  std::string v(1, 'h');
  v.append(*head);
  return v;
}

bool ParseDelta(std::string_view value, std::optional<std::string_view>* head) {
  if (value == kRemoved) {
    head->reset();
    return true;
  }
  if (value.empty() || value[0] != 'h') return false;
  *head = value.substr(1);
  return true;
}

std::string EncodePack(std::string_view base, const std::vector<Entry>& entries) {
  std::string out(1, kFormat);
  PutStr(&out, base);
  for (const auto& [k, head] : entries) {
    PutStr(&out, std::string_view(k).substr(base.size()));
    PutStr(&out, head);
  }
  return out;
}

Status ViewPack(std::string_view in, std::string_view* base, std::vector<EntryView>* out) {
  auto bad = [] { return Status(Err::kCorruption, "bad listing pack"); };
  if (in.empty() || in[0] != kFormat) return bad();
  in.remove_prefix(1);
  if (!GetStr(&in, base)) return bad();
  const size_t first = out->size();
  while (!in.empty()) {
    EntryView e;
    if (!GetStr(&in, &e.suffix) || !GetStr(&in, &e.head)) return bad();
    if (out->size() > first && e.suffix <= out->back().suffix) return bad();
    out->push_back(e);
  }
  return Status::Ok();
}

Status DecodePack(std::string_view in, std::vector<Entry>* entries) {
  std::string_view base;
  std::vector<EntryView> views;
  SLUICE_RETURN_IF_ERROR(ViewPack(in, &base, &views));
  entries->clear();
  entries->reserve(views.size());
  for (const auto& v : views) {
    std::string key(base);
    key.append(v.suffix);
    entries->emplace_back(std::move(key), std::string(v.head));
  }
  return Status::Ok();
}

}  // namespace sluice::meta::packs
