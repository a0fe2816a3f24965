//===- ValidateCommand.cpp - `tessera validate` ---------------------------------===//
#include "Commands.h"

#include "perf/Validation.h"

#include <iostream>

namespace tessera::tool {

void addValidateCommand(CLI::App &app, int &rc) {
  auto markdown = std::make_shared<bool>(false);
  CLI::App *cmd = app.add_subcommand(
      "validate", "Compare the GPU model with published measurements (exit 1 if any point "
                  "is out of tolerance)");
  cmd->add_flag("--markdown", *markdown, "print the table as Markdown (docs/validation.md)");
  cmd->callback([markdown, &rc] {
    auto results = perf::runValidation(perf::gpuValidationPoints());
    bool ok = true;
    for (const auto &r : results)
      ok = ok && r.pass;
    if (*markdown) {
      std::cout << perf::validationMarkdown(results);
    } else {
      for (const auto &r : results)
        std::cout << (r.pass ? "ok    " : "FAIL  ") << r.point.group << " | " << r.point.label
                  << " | published " << r.point.reference << " | model " << r.model << " | "
                  << (r.failure.empty() ? std::to_string(r.error * 100) + " %" : r.failure)
                  << "\n";
    }
    rc = ok ? 0 : 1;
  });
}

} // namespace tessera::tool
