#include "Commands.h"

namespace tessera::tool {
void addWorkloadCommand(CLI::App &app, int &rc) {
  auto *cmd = app.add_subcommand("workload", "Inspect training workloads");
  cmd->require_subcommand(1);
  (void)rc;
}
} // namespace tessera::tool
