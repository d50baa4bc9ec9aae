// The decoded query string of a request. Pure parsing: no HTTP or I/O dependency, so the
// fuzzers can build it alone.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sluice::s3 {

// The decoded query string, in order.
class Query {
 public:
  static Result<Query> Parse(std::string_view raw);
  bool Has(std::string_view name) const;
  // The value, or "" when absent.
  std::string_view Get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

}  // namespace sluice::s3
