//===- Runtime.h - running compiled programs on the tile's models -----------===//
//
// Loads a compiler::Program, keeps the device DRAM (initialised from the program's image:
// parameters, constants, zeroed optimizer state), takes inputs and returns outputs /
// parameters / gradients by tensor name as FP32, and runs the program on a backend:
//
//   Golden  accel::runGolden: the bit-exact functional model of the tile
//   Cycle   the same run with the golden model's timing trace kept: cycles per graph op
//           (sum over the op's dynamic instructions of their queue-busy time, start to
//           completion) and the program's total (docs/isa.md section 7)
//   Rtl     the generated tile RTL (accel::rtl::buildTile) in Tessera's compiled
//           simulator with an AXI memory as DRAM (runtime::TileSim), for small tiles
//           (at most 64 PEs and 64 KiB of SPAD, e.g. examples/arch/small-test.yaml);
//           same program, same DRAM bytes as the golden model; cycles and per-op time
//           from the RTL's unit trace
//
// DRAM persists across runs, so repeated training steps continue from the updated
// parameters and optimizer state; before each run of a training program the AdamW
// bias-correction registers are patched for the next step number.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "accel/Isa.h"
#include "compiler/Program.h"
#include "runtime/Cosim.h"

#include <memory>

#include <span>
#include <string>
#include <vector>

namespace tessera::runtime {

enum class Backend : uint8_t { Golden, Cycle, Rtl };
std::string_view backendName(Backend b); ///< "golden", "cycle", "rtl"
bool backendFromName(std::string_view name, Backend &out);

/// Time spent in one graph op (Cycle backend).
struct OpTime {
  uint32_t op = 0; ///< index into Program::ops
  std::string name, kind;
  uint64_t cycles = 0;       ///< sum of queue-busy time of the op's instructions
  uint64_t instructions = 0; ///< dynamic queue instructions
};

struct RunResult {
  Backend backend = Backend::Golden;
  uint64_t step = 0; ///< training step number this run executed (0 for forward programs)
  uint64_t cycles = 0;
  uint64_t instructions = 0; ///< dynamic instructions (Rtl: the queue instructions traced)
  std::vector<OpTime> ops;   ///< Cycle and Rtl backends: ops with instructions, in order
  /// Loss scaling (training programs with it on; compiler/LossScale.h): the scale S this
  /// step ran with, and whether it overflowed and was skipped (parameters and optimizer
  /// state restored, step count not advanced).
  double lossScale = 0;
  bool skipped = false;
};

class Runtime {
public:
  /// Checks the program (arch spec, map, code) and initialises DRAM.
  static Expected<Runtime> create(compiler::Program program);

  const compiler::Program &program() const { return prog_; }
  const accel::TileConfig &tile() const { return cfg_; }

  /// Writes tensor `name` (any role) from FP32 values; the count must match its shape.
  Status write(const std::string &name, std::span<const float> values);
  /// Reads tensor `name` as FP32.
  Expected<std::vector<float>> read(const std::string &name) const;
  /// The gradient of parameter `param` after a training step.
  Expected<std::vector<float>> gradient(const std::string &param) const;

  /// Names of the tensors of a role, in map order.
  std::vector<std::string> tensorsOf(compiler::DramRole role) const;

  /// Runs the program once (a forward pass, or one training step).
  Expected<RunResult> run(Backend backend);

  uint64_t stepsDone() const { return steps_; }
  /// Loss scaling: whether the program scales, the scale the next step runs with (1 when
  /// off), steps skipped on overflow so far.
  bool lossScaling() const { return prog_.lossScale.mode != compiler::LossScaleMode::Off; }
  double lossScale() const { return lossScaling() ? ls_.scale : 1.0; }
  uint64_t skippedSteps() const { return ls_.skippedSteps; }
  /// Sets the scale of the next step (tests; e.g. a huge S to force an overflow).
  void setLossScale(double s) { ls_.scale = s; }
  const std::vector<uint8_t> &dram() const { return dram_; }

private:
  Runtime() = default;
  compiler::Program prog_;
  accel::TileConfig cfg_;
  std::vector<uint8_t> dram_;
  uint64_t steps_ = 0;
  compiler::LossScaleState ls_;
  std::unique_ptr<TileSim> tile_; ///< built on the first Rtl run
};

} // namespace tessera::runtime
