//===- RunCommand.cpp - `tessera run` ----------------------------------------===//
//
// run PROG --inputs FILE.npz|FILE.bin [--backend golden|cycle|rtl] [--steps N]
//          [--outputs OUT.npz] [--report DIR]
//
// Loads a program directory (tessera compile), sets its inputs, runs it on a backend of
// runtime/Runtime.h and writes the results: a forward program's outputs by name; a
// training program's `loss`, `grad/<param>` and `param/<param>` (updated values) after
// the last step. Inputs: an .npz with one array per program input (by name; other keys
// are ignored), or a .bin of raw little-endian float32 values for a program with a single
// input. --report writes report.json and report.html (runtime/Report.h: the per-op cycle
// table and a bar chart with the cycle backend, the loss curve over --steps).
//
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include "runtime/Report.h"
#include "runtime/Runtime.h"
#include "support/FileIO.h"
#include "support/Json.h"
#include "support/Npy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace tessera::tool {

namespace {

using compiler::DramRole;

struct RunFlags {
  std::string program;
  std::string inputs;
  std::string backend = "golden";
  std::string outputs;
  std::string report;
  int64_t steps = 1;
};

Status setInputs(runtime::Runtime &rt, const std::string &path) {
  std::vector<std::string> names = rt.tensorsOf(DramRole::Input);
  if (path.ends_with(".bin")) {
    if (names.size() != 1)
      return Diagnostic::error("bad-inputs",
                               "a .bin input file serves a program with one input; '" +
                                   rt.program().model + "' has " + std::to_string(names.size()) +
                                   ": use an .npz",
                               SourceLoc{path, 0, 0});
    TRY_ASSIGN(std::string bytes, readTextFile(path));
    if (bytes.size() % 4)
      return Diagnostic::error("bad-inputs",
                               "size " + std::to_string(bytes.size()) +
                                   " is not a whole number of float32 values",
                               SourceLoc{path, 0, 0});
    std::vector<float> v(bytes.size() / 4);
    std::memcpy(v.data(), bytes.data(), bytes.size());
    Status st = rt.write(names[0], v);
    if (!st.ok()) {
      Diagnostic d = std::move(st).takeError();
      d.loc = SourceLoc{path, 0, 0};
      return d;
    }
    return Status::success();
  }
  TRY_ASSIGN(auto arrays, readNpz(path));
  for (const std::string &name : names) {
    auto it = std::find_if(arrays.begin(), arrays.end(),
                           [&](const auto &kv) { return kv.first == name; });
    if (it == arrays.end())
      return Diagnostic::error("missing-input",
                               "no array '" + name + "' for input '" + name + "' of program '" +
                                   rt.program().model + "'",
                               SourceLoc{path, 0, 0});
    const compiler::DramTensor *t = rt.program().find(name);
    if (it->second.elements() != t->elements())
      return Diagnostic::error("bad-inputs",
                               "array '" + name + "' has " + std::to_string(it->second.elements()) +
                                   " elements, the input needs " + std::to_string(t->elements()),
                               SourceLoc{path, 0, 0});
    TRY_ASSIGN(std::vector<float> v, npyToFloats(it->second, path + ":" + name));
    TRY(rt.write(name, v));
  }
  return Status::success();
}

Status writeOutputs(const runtime::Runtime &rt, const std::string &path) {
  std::vector<std::pair<std::string, NpyArray>> arrays;
  auto add = [&](const std::string &key, const std::string &tensor) -> Status {
    TRY_ASSIGN(std::vector<float> v, rt.read(tensor));
    arrays.push_back({key, npyFromFloats(rt.program().find(tensor)->shape, v)});
    return Status::success();
  };
  const compiler::Program &p = rt.program();
  if (!p.train) {
    for (const std::string &n : rt.tensorsOf(DramRole::Output))
      TRY(add(n, n));
  } else {
    for (const std::string &n : rt.tensorsOf(DramRole::Loss))
      TRY(add("loss", n));
    for (const std::string &n : rt.tensorsOf(DramRole::Parameter))
      if (const compiler::DramTensor *g = p.findFor(DramRole::Gradient, n))
        TRY(add("grad/" + n, g->name));
    for (const std::string &n : rt.tensorsOf(DramRole::Parameter))
      TRY(add("param/" + n, n));
  }
  return writeNpz(path, arrays);
}

int runRun(const RunFlags &f) {
  runtime::Backend backend;
  if (!runtime::backendFromName(f.backend, backend))
    return fail(
        Diagnostic::error("bad-value", "unknown backend '" + f.backend + "' (golden, cycle, rtl)"));
  if (f.steps < 1)
    return fail(Diagnostic::error("bad-value", "--steps must be at least 1"));
  auto prog = compiler::readProgram(f.program);
  if (!prog.ok())
    return fail(prog.error());
  auto rt = runtime::Runtime::create(std::move(*prog));
  if (!rt.ok())
    return fail(rt.error());
  if (!f.inputs.empty()) {
    Status st = setInputs(*rt, f.inputs);
    if (!st.ok())
      return fail(st.error());
  } else if (!rt->tensorsOf(DramRole::Input).empty()) {
    return fail(Diagnostic::error("missing-flag", "program '" + rt->program().model +
                                                      "' has inputs: give --inputs FILE.npz"));
  }
  const compiler::Program &p = rt->program();
  int64_t steps = p.train ? f.steps : 1;
  std::vector<double> losses;
  runtime::RunResult last;
  for (int64_t s = 0; s < steps; ++s) {
    auto r = rt->run(backend);
    if (!r.ok())
      return fail(r.error());
    last = *r;
    if (p.train)
      for (const std::string &n : rt->tensorsOf(DramRole::Loss)) {
        auto l = rt->read(n);
        losses.push_back(l.ok() && !l->empty() ? double((*l)[0]) : 0.0);
        if (steps <= 20 || s + 1 == steps || s % (steps / 10) == 0 || last.skipped) {
          std::string scale;
          if (rt->lossScaling())
            scale = fmt::format(" (loss scale {:g}{})", last.lossScale,
                                last.skipped ? ", overflow: step skipped" : "");
          std::cout << fmt::format("step {}: loss {:.9g}{}\n", last.step, losses.back(), scale);
        }
      }
  }
  if (p.train && rt->lossScaling())
    std::cout << fmt::format("loss scale {:g} ({}), {} of {} steps skipped on overflow\n",
                             rt->lossScale(), compiler::lossScaleModeName(p.lossScale.mode),
                             rt->skippedSteps(), steps);
  std::cout << fmt::format("ran '{}' on {}: {} cycles, {} instructions\n", p.model,
                           runtime::backendName(backend), last.cycles, last.instructions);
  if (!last.ops.empty()) {
    std::vector<runtime::OpTime> top = last.ops;
    std::stable_sort(top.begin(), top.end(),
                     [](const auto &a, const auto &b) { return a.cycles > b.cycles; });
    std::cout << fmt::format("{:>5}  {:<40} {:<16} {:>12}\n", "op", "name", "kind", "cycles");
    for (size_t i = 0; i < std::min<size_t>(top.size(), 15); ++i)
      std::cout << fmt::format("{:>5}  {:<40} {:<16} {:>12}\n", top[i].op, top[i].name, top[i].kind,
                               top[i].cycles);
  }
  if (!f.outputs.empty()) {
    Status st = writeOutputs(*rt, f.outputs);
    if (!st.ok())
      return fail(st.error());
    std::cout << "wrote " << f.outputs << "\n";
  }
  if (!f.report.empty()) {
    Status st = runtime::writeRunReport(*rt, last, losses, f.report);
    if (!st.ok())
      return fail(st.error());
    std::cout << fmt::format("wrote {0}/report.json, {0}/report.html\n", f.report);
  }
  return 0;
}

} // namespace

void addRunCommand(CLI::App &app, int &rc) {
  auto f = std::make_shared<RunFlags>();
  CLI::App *cmd = app.add_subcommand(
      "run", "Run a compiled program (tessera compile) on the golden or cycle model");
  cmd->add_option("program", f->program, "the program directory")->required();
  cmd->add_option("--inputs", f->inputs,
                  "inputs: .npz (an array per input, by name) or .bin (raw float32, one input)");
  cmd->add_option("--backend", f->backend, "golden | cycle | rtl")->capture_default_str();
  cmd->add_option("--steps", f->steps, "training steps to run (training programs)")
      ->capture_default_str();
  cmd->add_option("--outputs", f->outputs,
                  "write results (.npz): outputs by name; training: loss, grad/<p>, param/<p>");
  cmd->add_option("--report", f->report, "write report.json and report.html into this directory");
  cmd->callback([f, &rc] { rc = runRun(*f); });
}

} // namespace tessera::tool
