//===- Stimulus.h - stimulus for simulations: files and seeded random ------===//
//
// Two sources of per-cycle input values, shared by `tessera sim`, the differential tests
// and the benchmark (whose Verilator and Icarus harnesses re-implement randomStimulusWord
// in their generated code, so every simulator sees the same inputs):
//
// 1. Seeded random: the value of data input i (top input ports in port order, clocks
//    skipped) at cycle c is built from 64-bit words drawn from one splitmix64 stream
//    seeded with `seed`: for c = 0, 1, ...: for each data input in order: for each of its
//    ceil(width/64) words, low word first: next splitmix64 output, masked to the width.
//    Reset inputs (see isResetName) are not drawn: they are 1 (0 for active-low names)
//    in cycles [0, resetCycles) and inactive after.
//
// 2. A stimulus file (docs/sim.md):
//      # comment
//      inputs a b rst          names of the inputs given on each line, in order
//      expect y z              (optional) outputs checked on each line
//      5 0x1f 1 | 12 x         one line per cycle: input values, then "|" and expected
//                              values ("x" = don't care); decimal, 0x hex or 0b binary
//    Errors name the file, line and column.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "hw/BitVec.h"
#include "support/Expected.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::sim {

/// splitmix64: advances `state` and returns the next output.
inline uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// rst, reset, rst_n, reset_n, rstn, resetn, arst, arst_n (case-insensitive). Names ending
/// in n after rst/reset are active low.
bool isResetName(std::string_view name, bool &activeLow);

struct InputDesc {
  std::string name;
  uint32_t width = 1;
};

/// Generates the seeded random stream of the header comment.
class RandomStimulus {
public:
  RandomStimulus(std::vector<InputDesc> dataInputs, uint64_t seed, uint32_t resetCycles = 2);
  /// Values of every input (in the order given) for the next cycle.
  const std::vector<hw::BitVec> &next();
  /// The same stream as next() (use one or the other), as little-endian words: input i's
  /// ceil(width/64) words start at wordOffset(i). Allocation-free, for fast harnesses.
  const std::vector<uint64_t> &nextWords();
  size_t wordOffset(size_t input) const { return offsets_[input]; }
  uint64_t cycle() const { return cycle_; }

private:
  std::vector<InputDesc> inputs_;
  std::vector<bool> isReset_, activeLow_;
  std::vector<hw::BitVec> values_;
  std::vector<uint64_t> words_;
  std::vector<size_t> offsets_;
  uint64_t state_;
  uint32_t resetCycles_;
  uint64_t cycle_ = 0;
};

struct StimulusFile {
  std::string path;
  std::vector<std::string> inputs;
  std::vector<std::string> expects;
  struct Line {
    uint32_t lineNo = 0;
    std::vector<hw::BitVec> in; ///< widths are only known once bound to a design: raw
    std::vector<std::optional<hw::BitVec>> expect;
  };
  std::vector<Line> lines;
};

/// Parses a stimulus file; values are parsed at `widthOf(name)` bits.
Expected<StimulusFile> parseStimulus(std::string_view text, const std::string &path,
                                     const std::vector<InputDesc> &inputs,
                                     const std::vector<InputDesc> &outputs);

/// Order-sensitive checksum of output values, the same in every harness:
/// h = splitmix-style mix of (h ^ word) for every 64-bit word of every output, every cycle.
inline uint64_t checksumMix(uint64_t h, uint64_t word) {
  uint64_t s = h ^ word;
  return splitmix64(s);
}

} // namespace tessera::sim
