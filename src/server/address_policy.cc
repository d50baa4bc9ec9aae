#include "server/address_policy.h"

namespace sluice::server {

Result<AddressPolicy> AddressPolicy::Parse(std::string_view allow) {
  AddressPolicy p;
  SLUICE_ASSIGN_OR_RETURN(p.deny_, Networks::Parse("169.254.0.0/16,fe80::/10,fd00:ec2::254"));
  SLUICE_ASSIGN_OR_RETURN(p.allow_, Networks::Parse(allow));
  return p;
}

std::string AddressPolicy::Refuses(const std::string& address) const {
  if (!IsIpAddress(address)) return "not an IP address";
  if (!allow_.empty()) {
    if (allow_.Contains(address)) return "";
    return "not in the networks --replication-allow names";
  }
  if (const std::string* net = deny_.Find(address))
    return "a link-local address (" + *net +
           ": cloud metadata lives there); --replication-allow can name it";
  return "";
}

std::string AddressPolicy::Describe() const {
  if (allow_.empty()) return "any address but link-local";
  return allow_.Describe();
}

}  // namespace sluice::server
