//===- CompileCommand.cpp - `tessera compile` --------------------------------===//
//
// compile MODEL.onnx --arch FILE [--train] [--policy P] -o PROG: imports the ONNX model
// with its initializer values, compiles it (compiler/Compiler.h) for the tile of the
// arch spec and writes the program directory (compiler/Program.h). Flags only; the work
// is library code.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include "arch/ArchSpec.h"
#include "compiler/Compiler.h"
#include "workload/Onnx.h"

#include <fmt/format.h>

#include <iostream>

namespace tessera::tool {

namespace {

struct CompileFlags {
  std::string model;
  std::string arch;
  std::string policy = "fp32";
  std::string output;
  bool train = false;
  bool noOverlap = false;
  bool noFuse = false;
  std::string lossScale = "auto";
  int64_t batch = 0;
  double lr = 1e-3, weightDecay = 0.01;
};

int runCompile(const CompileFlags &f) {
  compiler::CompileOptions opts;
  if (!compiler::policyFromName(f.policy, opts.policy))
    return fail(Diagnostic::error("bad-value", "unknown policy '" + f.policy +
                                                   "' (fp32, bf16, mxfp8, mxfp8-sparse)"));
  opts.train = f.train;
  if (!compiler::parseLossScale(f.lossScale, opts.lossScale))
    return fail(Diagnostic::error("bad-value", "--loss-scale '" + f.lossScale +
                                                   "': expected dynamic, off, auto or a "
                                                   "positive number"));
  opts.overlap = !f.noOverlap;
  opts.fuse = !f.noFuse;
  opts.archPath = f.arch;
  opts.adamw.lr = f.lr;
  opts.adamw.weightDecay = f.weightDecay;
  auto spec = arch::loadArchSpec(f.arch);
  if (!spec.ok())
    return fail(spec.error());
  workload::OnnxOptions oopts;
  if (f.batch > 0)
    oopts.batch = f.batch;
  auto model = workload::importOnnxModel(f.model, oopts);
  if (!model.ok())
    return fail(model.error());
  auto prog = compiler::compile(model->graph, model->init, *spec, opts);
  if (!prog.ok())
    return fail(prog.error());
  Status st = compiler::writeProgram(*prog, f.output);
  if (!st.ok())
    return fail(st.error());
  std::cout << fmt::format("compiled '{}' ({}, policy {}) for '{}': {} instructions, {} ops, "
                           "{} DRAM bytes -> {}/\n",
                           prog->model, prog->train ? "training step" : "forward",
                           compiler::policyName(prog->policy), spec->name, prog->code.size(),
                           prog->ops.size(), prog->dramBytes, f.output);
  for (const compiler::SparseRecord &s : prog->sparsity) // policy mxfp8-sparse
    std::cout << (s.pruned ? fmt::format("  2:4 pruned: {} ({}): {} of {} weights kept\n", s.weight,
                                         s.op, s.kept, s.total)
                           : fmt::format("  dense: {} ({}): {}\n", s.weight, s.op, s.reason));
  return 0;
}

} // namespace

void addCompileCommand(CLI::App &app, int &rc) {
  auto f = std::make_shared<CompileFlags>();
  CLI::App *cmd = app.add_subcommand(
      "compile", "Compile an ONNX model (forward or one training step) to a tile program");
  cmd->add_option("model", f->model, "the ONNX model")->required();
  cmd->add_option("--arch", f->arch,
                  "arch spec (YAML) of the target, e.g. examples/arch/tessera-train-7nm.yaml")
      ->required();
  cmd->add_flag("--train", f->train,
                "compile one training step: forward, backward (MSE loss against input "
                "'target' when the model has no loss) and AdamW");
  cmd->add_option("--policy", f->policy, "precision policy: fp32 | bf16 | mxfp8 | mxfp8-sparse")
      ->capture_default_str();
  cmd->add_flag("--no-overlap", f->noOverlap,
                 "serialise every block (no double buffering across the queues; same results)");
  cmd->add_flag("--no-fuse", f->noFuse,
                 "lower every elementwise op on its own (no fused chains; same results)");
  cmd->add_option("--loss-scale", f->lossScale,
                  "loss scaling of training programs: dynamic | off | N (fixed scale) | auto "
                  "(dynamic for bf16 / mxfp8 / mxfp8-sparse, off for fp32)")
      ->capture_default_str();
  cmd->add_option("--batch", f->batch, "batch size for dynamic / leading dims");
  cmd->add_option("--lr", f->lr, "AdamW learning rate")->capture_default_str();
  cmd->add_option("--weight-decay", f->weightDecay, "AdamW weight decay")->capture_default_str();
  cmd->add_option("-o,--output", f->output, "the program directory to write")->required();
  cmd->callback([f, &rc] { rc = runCompile(*f); });
}

} // namespace tessera::tool
