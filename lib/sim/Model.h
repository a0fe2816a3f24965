//===- Model.h - the engine-independent part of a Simulator ---------------===//
//
// Internal to lib/sim. Both engines keep all state in one arena laid out by the Program
// (Netlist.h), so everything but evaluation lives here: poke/peek, named signals, lazy
// settling, the cycle loop and VCD output. An engine supplies settle() and edge().
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sim/Netlist.h"
#include "sim/Sim.h"

#include <fstream>
#include <memory>
#include <unordered_map>

namespace tessera::sim::detail {

/// A 64-byte aligned, zeroed byte buffer.
class Arena {
public:
  Arena() = default;
  explicit Arena(uint64_t size);
  Arena(Arena &&o) noexcept : p_(o.p_), size_(o.size_) { o.p_ = nullptr, o.size_ = 0; }
  Arena &operator=(Arena &&o) noexcept;
  ~Arena();
  uint8_t *data() { return p_; }
  const uint8_t *data() const { return p_; }
  uint64_t size() const { return size_; }

private:
  uint8_t *p_ = nullptr;
  uint64_t size_ = 0;
};

/// Loads/stores one element of `eb` bytes (1, 2, 4 or 8) as a 64-bit number.
inline uint64_t loadElem(const uint8_t *p, uint32_t eb) {
  switch (eb) {
  case 1:
    return *p;
  case 2: {
    uint16_t v;
    __builtin_memcpy(&v, p, 2);
    return v;
  }
  case 4: {
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
  }
  default: {
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    return v;
  }
  }
}
inline void storeElem(uint8_t *p, uint32_t eb, uint64_t v) {
  switch (eb) {
  case 1:
    *p = static_cast<uint8_t>(v);
    return;
  case 2: {
    uint16_t x = static_cast<uint16_t>(v);
    __builtin_memcpy(p, &x, 2);
    return;
  }
  case 4: {
    uint32_t x = static_cast<uint32_t>(v);
    __builtin_memcpy(p, &x, 4);
    return;
  }
  default:
    __builtin_memcpy(p, &v, 8);
  }
}

class Vcd;

class ModelSimulator : public Simulator {
public:
  ModelSimulator(Program prog, BuildStats stats);
  ~ModelSimulator() override;

  const std::vector<PortInfo> &inputs() const override { return inputs_; }
  const std::vector<PortInfo> &outputs() const override { return outputs_; }
  uint32_t lanes() const override { return prog_.lanes; }

  void poke(uint32_t input, const hw::BitVec &v, uint32_t lane) override;
  void poke(uint32_t input, uint64_t v, uint32_t lane) override;
  void pokeWords(uint32_t input, const uint64_t *words, uint32_t lane) override;
  hw::BitVec peek(uint32_t output, uint32_t lane) override;
  uint64_t peek64(uint32_t output, uint32_t lane) override;
  void peekWords(uint32_t output, uint64_t *words, uint32_t lane) override;
  uint64_t checksumOutputs(uint64_t h, uint32_t lane) override;
  std::optional<hw::BitVec> peekSignal(std::string_view path, uint32_t lane) override;

  void step(uint64_t n) override;
  uint64_t cycle() const override { return cycle_; }

  Status openVcd(const std::string &path, const std::vector<std::string> &scopes, uint64_t from,
                 uint64_t to) override;
  void closeVcd() override;
  const BuildStats &buildStats() const override { return stats_; }

  // For the engines and the VCD writer.
  const Program &program() const { return prog_; }
  uint8_t *arena() { return arena_.data(); }
  /// Address of element `elem` (array element; ignored for scalars) of `r` in `lane`.
  const uint8_t *addr(Ref r, uint32_t elem, uint32_t lane) const;
  /// ceil(width/64) words of that value.
  void readWords(Ref r, uint32_t elem, uint32_t lane, uint64_t *out) const;

protected:
  /// Settles combinational logic (asynchronous resets first).
  virtual void settle() = 0;
  /// One clock edge (logic is settled).
  virtual void edge() = 0;
  /// Computes the values only named signals need (logic is settled).
  virtual void observe() = 0;
  /// n full cycles (settle + edge) without observation; engines may override.
  virtual void run(uint64_t n);
  void ensureSettled() {
    if (dirty_) {
      settle();
      dirty_ = false;
      observed_ = false;
    }
  }
  void ensureObserved() {
    ensureSettled();
    if (!observed_) {
      observe();
      observed_ = true;
    }
  }

  Program prog_;
  Arena arena_;
  bool dirty_ = true;
  bool observed_ = false;

private:
  void initState();
  void vcdSample(uint64_t time, bool clockHigh);

  BuildStats stats_;
  std::vector<PortInfo> inputs_, outputs_;
  uint64_t cycle_ = 0;
  std::unique_ptr<Vcd> vcd_;
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>> signalIndex_;
  std::vector<uint64_t> scratch_;
};

/// Engine constructors (Interp.cpp, Compiled.cpp).
std::unique_ptr<ModelSimulator> makeInterpreter(Program prog, BuildStats stats);
Expected<std::unique_ptr<ModelSimulator>> makeCompiled(Program prog, BuildStats stats,
                                                       const SimOptions &opts);

/// The C++ source of the compiled model for `prog` (CodeGen.cpp), as one or more
/// translation units (the first has the entry points). Deterministic.
std::vector<std::string> generateModel(const Program &prog, size_t unitBytes = 200 * 1024);

} // namespace tessera::sim::detail
