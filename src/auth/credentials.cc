#include "auth/credentials.h"

namespace sluice::auth {

std::shared_ptr<const Identity> Identity::Root() {
  static const std::shared_ptr<const Identity> root = [] {
    auto id = std::make_shared<Identity>();
    id->kind = Kind::kRoot;
    id->arn = std::string("arn:aws:iam::") + kAccountId + ":root";
    id->admin = true;
    id->principals = {id->arn, kAccountId};
    return id;
  }();
  return root;
}

}  // namespace sluice::auth
