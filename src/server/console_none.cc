// The console's files when the build leaves it out (-DSLUICE_CONSOLE=OFF): none, and
// /_sluice/console/ answers 501.
#include "server/console.h"

namespace sluice::server {

const ConsoleAsset kConsoleAssets[] = {{"", "", "", ""}};
const size_t kConsoleAssetCount = 0;

}  // namespace sluice::server
