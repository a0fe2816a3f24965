#include "Commands.h"

namespace tessera::tool {
void addEstimateCommand(CLI::App &app, int &rc) {
  auto *cmd = app.add_subcommand("estimate", "Estimate a training iteration on a device");
  (void)cmd;
  (void)rc;
}
} // namespace tessera::tool
