//===- Program.h - a compiled accelerator program and its file form ---------===//
//
// What `tessera compile` produces and `tessera run` loads: the tile instructions, for
// each instruction the graph op it came from, the DRAM map (every tensor of the graph:
// name, shape, role, address, bytes), the initial DRAM image of the persistent region
// (parameters, constants, zeroed optimizer state), the arch spec the program was
// compiled for (as YAML text, so that the runtime rebuilds the same TileConfig) and the
// patch points of the AdamW step registers.
//
// On disk a program is a directory (docs/compiler.md, "Program files"):
//   program.json  the map, ops, options, arch, patch points
//   program.bin   accel::encodeProgram words
//   weights.bin   the initial image of DRAM bytes [0, imageBytes)
//   listing.txt   per op a header, then its instructions with disassembly
// readProgram validates everything it reads; problems are `bad-program` diagnostics
// naming the file and the key.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "accel/Isa.h"
#include "compiler/LossScale.h"
#include "support/Expected.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::compiler {

/// Precision policy of the tensor-unit operands (docs/compiler.md, "Policies").
enum class Policy : uint8_t {
  Fp32,        ///< 3-way BF16 split, 6 products, FP32 accumulation (precision HIGHEST)
  Bf16,        ///< BF16 operands, FP32 accumulation
  Mxfp8,       ///< MXFP8 (E4M3, E8M0 block scales) operands, quantized on the device
  Mxfp8Sparse, ///< MXFP8 with 2:4 magnitude-pruned weights on gemmsp (Sparse.h)
};
std::string_view policyName(Policy p); ///< "fp32", "bf16", "mxfp8", "mxfp8-sparse"
bool policyFromName(std::string_view name, Policy &out);

/// PyTorch torch.optim.AdamW hyper-parameters (amsgrad off).
struct AdamWParams {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weightDecay = 0.01;
};

struct CompileOptions {
  Policy policy = Policy::Fp32;
  /// Compile one training step (forward, backward, AdamW) instead of the forward pass.
  bool train = false;
  AdamWParams adamw;
  /// The arch spec's file, for diagnostics and the program file (may be empty).
  std::string archPath;
  /// Upper bound on the K extent of one GEMM tile (0: as the SPAD allows); tests use it
  /// to force K splits on small shapes.
  uint32_t maxTileK = 0;
  /// Overlap the load / compute / store queues in tiled GEMMs (double-buffered SPAD, see
  /// docs/compiler.md "Overlap"); false: every block serialised (the original emitter).
  /// Results are bit-identical either way; only cycles change.
  bool overlap = true;
  /// Fuse chains of elementwise ops into one stream through ACC (docs/compiler.md
  /// "Fusion"); false: every op lowered on its own. Results are bit-identical either way.
  bool fuse = true;
  /// Loss scaling of training programs (LossScale.h; docs/compiler.md "Loss scaling").
  LossScaleOptions lossScale;
};

/// What a DRAM tensor is to the user of a program.
enum class DramRole : uint8_t {
  Input,      ///< set by the host before a run
  Output,     ///< a forward output (read after a run)
  Loss,       ///< the training loss (read after a run)
  Parameter,  ///< trainable weight, persistent, updated in place by a training step
  State,      ///< optimizer state (AdamW m, v), persistent
  Gradient,   ///< the gradient of a parameter (read after a training step)
  Constant,   ///< a non-trainable initializer, persistent
  Activation, ///< an intermediate of the graph (planned; may share memory)
  Temporary,  ///< a lowering's scratch (BF16 split copies), planned
};
std::string_view dramRoleName(DramRole r);
bool dramRoleFromName(std::string_view name, DramRole &out);

/// One tensor in DRAM: dense row-major FP32 (Temporary: the element format of `dtype`).
struct DramTensor {
  std::string name;
  std::vector<int64_t> shape;
  DramRole role = DramRole::Activation;
  uint32_t address = 0; ///< byte address, 64-byte aligned
  uint32_t bytes = 0;
  /// For a Gradient / State tensor: the parameter it belongs to ("" otherwise).
  std::string param;
  /// Views (Reshape) alias the tensor they view: the name of the viewed tensor, else "".
  std::string aliasOf;
  int64_t elements() const;
};

/// A graph op as the program records it (provenance of each instruction).
struct OpRecord {
  std::string name;
  std::string kind;  ///< workload op name ("matmul", "adamw-update", ...)
  std::string phase; ///< "forward", "backward-data", ...
  std::string loc;   ///< ONNX file and node / zoo location ("" when unknown)
  /// Member of a fused elementwise group: "add+relu: op-a, op-b" (the group's kinds and
  /// op names; lowered as one stream where its last op is), "" otherwise.
  std::string fused;
};

/// N:M pruning of one weight under policy mxfp8-sparse (docs/compiler.md, "mxfp8-sparse").
struct SparseRecord {
  std::string op;               ///< the forward op using the weight
  std::string weight;           ///< the parameter
  bool pruned = false;          ///< false: stays dense MXFP8 (see `reason`)
  std::string pattern;          ///< "2:4" when pruned
  uint64_t kept = 0, total = 0; ///< weights kept of the weight's elements
  std::string reason;           ///< why it stays dense
};

struct Program {
  std::string model; ///< graph name
  Policy policy = Policy::Fp32;
  bool train = false;
  AdamWParams adamw;
  std::string archPath; ///< informative
  std::string archYaml; ///< arch::writeArchSpecYaml of the spec compiled for

  std::vector<accel::Instruction> code;
  /// Per instruction: index into `ops`, or kNoOp for the program's own prologue / halt.
  std::vector<uint32_t> opOf;
  static constexpr uint32_t kNoOp = UINT32_MAX;
  std::vector<OpRecord> ops;

  std::vector<DramTensor> tensors;
  uint32_t dramBytes = 0;     ///< DRAM the program needs
  std::vector<uint8_t> image; ///< initial contents of DRAM [0, image.size())

  /// Instruction indices of the `fli` setting F[fs+7] = 1/(1-beta1^t) and
  /// F[fs+8] = 1/(1-beta2^t) (training programs; the runtime patches them per step).
  std::vector<uint32_t> stepPatchBeta1, stepPatchBeta2;
  /// Loss scaling (LossScale.h): `lossScale.mode` is resolved (Off, Dynamic or Fixed);
  /// when on, `lossScaleSeed` names the loss gradient's seed (the DRAM word holding S).
  LossScaleOptions lossScale{LossScaleMode::Off};
  std::string lossScaleSeed;
  /// Policy mxfp8-sparse: per weight of a GEMM / conv, pruned or dense and why.
  std::vector<SparseRecord> sparsity;

  const DramTensor *find(const std::string &name) const;
  /// The tensor of role `role` belonging to parameter `param` (Gradient, State).
  const DramTensor *findFor(DramRole role, const std::string &param) const;
};

/// Writes PROG/{program.json, program.bin, weights.bin, listing.txt}; creates the
/// directory. Deterministic bytes.
Status writeProgram(const Program &p, const std::string &dir);
/// Reads and validates a program directory (`bad-program`, `io-error`).
Expected<Program> readProgram(const std::string &dir);

/// The readable listing: per op a header (index, name, kind, phase, location), then its
/// instructions as `index: disassembly`.
std::string programListing(const Program &p);

/// Patches the AdamW bias-correction registers of a training program for step t >= 1.
void patchAdamWStep(Program &p, uint64_t step);

} // namespace tessera::compiler
