// The decoded query string of a request. Pure parsing: no HTTP or I/O dependency, so the
// fuzzers can build it alone.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sluice::s3 {

// The decoded query string, in order. Every name and value is a view into one buffer the
// query owns (decoding never lengthens a string, so it is sized once from the raw query):
// two allocations a request, where a string per name and value made up to fourteen.
class Query {
 public:
  using Item = std::pair<std::string_view, std::string_view>;

  Query() = default;
  Query(const Query& other);
  Query& operator=(const Query& other);
  Query(Query&&) noexcept = default;
  Query& operator=(Query&&) noexcept = default;

  static Result<Query> Parse(std::string_view raw);
  bool Has(std::string_view name) const;
  // The value, or "" when absent.
  std::string_view Get(std::string_view name) const;
  const std::vector<Item>& items() const { return items_; }

 private:
  std::unique_ptr<char[]> text_;  // a heap buffer: its address survives a move
  size_t text_size_ = 0;
  std::vector<Item> items_;
};

}  // namespace sluice::s3
