//===- Cosim.cpp - native C vs CDFG evaluator vs RTL simulation -----------===//
//
// See Cosim.h. The native wrapper deduces the top function's parameter types with a
// function-traits template (C++ kernels are #included into the wrapper, so no name
// mangling or type spelling is involved; C kernels are compiled as C and declared
// `extern "C"` from Cdfg::params' cTypes). Values cross as uint64_t: integers by
// conversion (modulo, two's complement), class types (hls::fixed, hls::bf16, ...) by
// their bytes.
//
//===----------------------------------------------------------------------===//
#include "hls/Cosim.h"

#include "support/FileIO.h"
#include "support/Process.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <dlfcn.h>
#include <filesystem>
#include <random>
#include <unistd.h>

namespace tessera::hls {
namespace {

namespace fs = std::filesystem;

uint64_t mask(uint32_t w) { return w >= 64 ? ~0ull : (1ull << w) - 1; }

uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

bool isCSource(const std::string &path) {
  std::string ext = fs::path(path).extension().string();
  return ext == ".c";
}

std::string defaultCacheDir() {
  if (const char *c = std::getenv("TESSERA_CACHE"); c && *c)
    return std::string(c) + "/hls";
  if (const char *h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.cache/tessera/hls";
  return (fs::temp_directory_path() / "tessera-hls-cache").string();
}

std::string cType(std::string t) {
  // C's _Bool is C++'s bool; everything else C spells the same way for our kernels.
  for (size_t p; (p = t.find("_Bool")) != std::string::npos;)
    t.replace(p, 5, "bool");
  return t;
}

using CallFn = uint64_t (*)(const uint64_t *, uint64_t *const *, const uint32_t *);

constexpr uint32_t kDefaultStreamCount = 16;
/// Elements the native wrapper collects from an output stream at most (hls::stream's
/// default capacity, include/tessera/hls.h).
constexpr uint32_t kNativeStreamCapacity = 4096;

} // namespace

std::string Mismatch::str() const {
  if (what == "return")
    return fmt::format("vector {}: return value {:#x}, {} gives {:#x}", vector, actual, against,
                       expected);
  auto endsWith = [&](std::string_view sfx) {
    return what.size() >= sfx.size() && what.compare(what.size() - sfx.size(), sfx.size(), sfx) == 0;
  };
  if (endsWith(" length") || endsWith(" consumed"))
    return fmt::format("vector {}: stream {} {} elements, {} gives {}", vector, what, actual,
                       against, expected);
  return fmt::format("vector {}: {}[{}] = {:#x}, {} gives {:#x}", vector, what, index, actual,
                     against, expected);
}

CosimVector randomVector(const Cdfg &g, uint64_t seed) {
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ull + 1);
  CosimVector v;
  for (const Arg &a : g.args)
    v.args.push_back(rng() & mask(a.width));
  v.mems.resize(g.memories.size());
  for (size_t m = 0; m < g.memories.size(); ++m) {
    const Memory &mem = g.memories[m];
    if (mem.kind != MemKind::Interface)
      continue;
    v.mems[m].resize(mem.depth);
    for (uint64_t &x : v.mems[m])
      x = rng() & mask(mem.elemWidth);
  }
  v.streams.resize(g.streams.size());
  for (size_t k = 0; k < g.streams.size(); ++k) {
    const Stream &st = g.streams[k];
    if (st.dir != StreamDir::In)
      continue;
    v.streams[k].resize(st.count ? st.count : kDefaultStreamCount);
    for (uint64_t &x : v.streams[k])
      x = rng() & mask(st.width);
  }
  v.gapSeed = seed;
  return v;
}

Expected<RtlRun> runRtl(const Cdfg &g, sim::Simulator &sim, const CosimVector &in,
                        uint64_t maxCycles) {
  auto need = [&](bool input, const std::string &name) -> Expected<uint32_t> {
    int i = input ? sim.findInput(name) : sim.findOutput(name);
    if (i < 0)
      return Diagnostic::error("cosim-interface",
                               fmt::format("the RTL of '{}' has no {} port '{}'", g.name,
                                           input ? "input" : "output", name),
                               g.loc);
    return static_cast<uint32_t>(i);
  };
  TRY_ASSIGN(uint32_t rst, need(true, "rst"));
  TRY_ASSIGN(uint32_t start, need(true, "start"));
  TRY_ASSIGN(uint32_t done, need(false, "done"));
  std::vector<uint32_t> argPorts;
  for (const Arg &a : g.args) {
    TRY_ASSIGN(uint32_t p, need(true, a.name));
    argPorts.push_back(p);
  }
  uint32_t retPort = 0;
  if (g.ret) {
    TRY_ASSIGN(retPort, need(false, "return"));
  }
  if (in.args.size() != g.args.size())
    return Diagnostic::error("bad-argument", fmt::format("{}: {} arguments given, {} expected",
                                                         g.name, in.args.size(), g.args.size()));
  struct MemPort {
    uint32_t mem, addr, ce, we, wdata, rdata;
  };
  std::vector<MemPort> ports;
  RtlRun run;
  run.out.mems.resize(g.memories.size());
  for (uint32_t m = 0; m < g.memories.size(); ++m) {
    const Memory &mem = g.memories[m];
    if (mem.kind != MemKind::Interface)
      continue;
    std::vector<uint64_t> &contents = run.out.mems[m];
    contents = m < in.mems.size() ? in.mems[m] : std::vector<uint64_t>();
    contents.resize(mem.depth, 0);
    for (uint64_t &x : contents)
      x &= mask(mem.elemWidth);
    for (uint32_t p = 0;; ++p) {
      std::string sfx = std::to_string(p);
      if (sim.findOutput(mem.name + "_addr" + sfx) < 0)
        break;
      MemPort mp{m, 0, 0, 0, 0, 0};
      TRY_ASSIGN(mp.addr, need(false, mem.name + "_addr" + sfx));
      TRY_ASSIGN(mp.ce, need(false, mem.name + "_ce" + sfx));
      TRY_ASSIGN(mp.we, need(false, mem.name + "_we" + sfx));
      TRY_ASSIGN(mp.wdata, need(false, mem.name + "_wdata" + sfx));
      TRY_ASSIGN(mp.rdata, need(true, mem.name + "_rdata" + sfx));
      ports.push_back(mp);
    }
  }
  // Streams: (data, valid, ready) ports; inputs offered with random gaps, outputs taken
  // with random ready gaps.
  struct StreamPorts {
    uint32_t data = 0, valid = 0, ready = 0;
  };
  std::vector<StreamPorts> sports(g.streams.size());
  for (size_t k = 0; k < g.streams.size(); ++k) {
    const Stream &st = g.streams[k];
    bool in = st.dir == StreamDir::In;
    TRY_ASSIGN(sports[k].data, need(in, st.name + "_data"));
    TRY_ASSIGN(sports[k].valid, need(in, st.name + "_valid"));
    TRY_ASSIGN(sports[k].ready, need(!in, st.name + "_ready"));
  }
  run.out.streams.assign(g.streams.size(), {});
  run.out.consumed.assign(g.streams.size(), 0);
  std::vector<bool> offering(g.streams.size(), false), readyOut(g.streams.size(), false);
  std::mt19937_64 gaps(in.gapSeed * 0xbf58476d1ce4e5b9ull + 7);
  auto streamInput = [&](size_t k) -> const std::vector<uint64_t> & {
    static const std::vector<uint64_t> none;
    return k < in.streams.size() ? in.streams[k] : none;
  };
  // Issue signals of pipelined loops (named by the RTL builder).
  std::vector<std::string> issueNames(g.loops.size());
  for (size_t l = 0; l < g.loops.size(); ++l)
    issueNames[l] = "loop" + std::to_string(l) + "_issue";
  run.loopII.assign(g.loops.size(), 0);
  run.loopIssues.assign(g.loops.size(), 0);
  std::vector<uint64_t> lastIssue(g.loops.size(), UINT64_MAX);
  std::vector<bool> hasIssue(g.loops.size(), true);

  // Reset, then one start cycle with the arguments.
  sim.poke(start, uint64_t(0));
  for (size_t k = 0; k < g.streams.size(); ++k)
    sim.poke(g.streams[k].dir == StreamDir::In ? sports[k].valid : sports[k].ready, uint64_t(0));
  sim.poke(rst, uint64_t(1));
  sim.step();
  sim.poke(rst, uint64_t(0));
  for (size_t a = 0; a < g.args.size(); ++a)
    sim.poke(argPorts[a], in.args[a] & mask(g.args[a].width));
  sim.poke(start, uint64_t(1));
  struct Write {
    uint32_t mem;
    uint64_t addr, data;
  };
  std::vector<Write> writes;
  std::vector<uint64_t> reads(ports.size(), 0);
  uint64_t cycle = 0;
  for (;;) {
    if (cycle > 0 && sim.peek64(done))
      break;
    if (cycle >= maxCycles)
      return Diagnostic::error(
          "sim-timeout",
          fmt::format("the RTL of '{}' did not finish within {} cycles", g.name, maxCycles), g.loc);
    // Streams first: the kernel's memory enables and issue depend on its stall.
    for (size_t k = 0; k < g.streams.size(); ++k) {
      const Stream &st = g.streams[k];
      bool take = (gaps() & 3) != 0; // 3 cycles in 4
      if (st.dir == StreamDir::In) {
        const std::vector<uint64_t> &src = streamInput(k);
        uint64_t pos = run.out.consumed[k];
        if (!offering[k] && pos < src.size() && take)
          offering[k] = true;
        sim.poke(sports[k].data, offering[k] ? src[pos] & mask(st.width) : uint64_t(0));
        sim.poke(sports[k].valid, uint64_t(offering[k]));
      } else {
        readyOut[k] = take;
        sim.poke(sports[k].ready, uint64_t(take));
      }
    }
    for (size_t k = 0; k < g.streams.size(); ++k) {
      const Stream &st = g.streams[k];
      if (st.dir == StreamDir::In) {
        if (offering[k] && sim.peek64(sports[k].ready)) {
          ++run.out.consumed[k];
          offering[k] = false;
        }
      } else if (readyOut[k] && sim.peek64(sports[k].valid)) {
        run.out.streams[k].push_back(sim.peek64(sports[k].data) & mask(st.width));
      }
    }
    writes.clear();
    for (size_t i = 0; i < ports.size(); ++i) {
      const MemPort &mp = ports[i];
      if (!sim.peek64(mp.ce))
        continue;
      uint64_t addr = sim.peek64(mp.addr);
      const std::vector<uint64_t> &contents = run.out.mems[mp.mem];
      if (sim.peek64(mp.we))
        writes.push_back({mp.mem, addr, sim.peek64(mp.wdata)});
      else
        reads[i] = addr < contents.size() ? contents[addr] : 0;
    }
    for (size_t l = 0; l < g.loops.size(); ++l) {
      if (!hasIssue[l])
        continue;
      std::optional<hw::BitVec> v = sim.peekSignal(issueNames[l]);
      if (!v) {
        hasIssue[l] = false;
        continue;
      }
      if (v->low64() & 1) {
        if (lastIssue[l] != UINT64_MAX) {
          uint64_t d = cycle - lastIssue[l];
          run.loopII[l] = run.loopII[l] == 0 ? d : std::min(run.loopII[l], d);
        }
        lastIssue[l] = cycle;
        ++run.loopIssues[l];
      }
    }
    sim.step();
    ++cycle;
    if (cycle == 1)
      sim.poke(start, uint64_t(0));
    for (const Write &w : writes) // port order: a later port wins
      if (w.addr < run.out.mems[w.mem].size())
        run.out.mems[w.mem][w.addr] = w.data & mask(g.memories[w.mem].elemWidth);
    for (size_t i = 0; i < ports.size(); ++i)
      sim.poke(ports[i].rdata, reads[i]);
  }
  run.latency = cycle;
  if (g.ret)
    run.out.ret = sim.peek64(retPort) & mask(g.ret->width);
  // Let the FSM return to idle so that the simulator can be reused.
  sim.step();
  return run;
}

std::string nativeWrapperSource(const Cdfg &g) {
  std::string s;
  s += "// Generated by tessera hls (co-simulation wrapper); do not edit.\n";
  // Light headers only: <memory> or <tuple> would triple the native build time. The
  // machinery comes before the kernel, whose macros (`#define N 8`) must not reach it;
  // after the kernel only tc_-prefixed names are used.
  s += "#include <cstdint>\n#include <cstring>\n#include <new>\n#include <type_traits>\n\n";
  s += R"(namespace tessera_cosim {
template <std::size_t I, typename... T> struct Nth;
template <typename H, typename... T> struct Nth<0, H, T...> {
  using type = H;
};
template <std::size_t I, typename H, typename... T> struct Nth<I, H, T...> {
  using type = typename Nth<I - 1, T...>::type;
};
template <typename F> struct Traits;
template <typename R, typename... P> struct Traits<R (*)(P...)> {
  template <std::size_t I> using Arg = typename Nth<I, P...>::type;
};
template <typename F, std::size_t I>
using ParamOf = std::remove_cv_t<typename Traits<F>::template Arg<I>>;
template <typename F, std::size_t I>
using ElemOf = std::remove_cv_t<std::remove_pointer_t<ParamOf<F, I>>>;
template <typename T> struct Buf {
  T *p;
  explicit Buf(uint32_t n) : p(new T[n ? n : 1]()) {}
  ~Buf() { delete[] p; }
  Buf(const Buf &) = delete;
};
template <typename T> T fromBits(uint64_t v) {
  if constexpr (std::is_class_v<T>) {
    alignas(T) unsigned char buf[sizeof(T)] = {};
    std::memcpy(buf, &v, sizeof(T) < 8 ? sizeof(T) : 8);
    return *std::launder(reinterpret_cast<T *>(buf));
  } else {
    return static_cast<T>(v);
  }
}
template <typename T> uint64_t toBits(const T &t) {
  if constexpr (std::is_class_v<T>) {
    uint64_t v = 0;
    std::memcpy(&v, &t, sizeof(T) < 8 ? sizeof(T) : 8);
    return v;
  } else {
    return static_cast<uint64_t>(t);
  }
}
template <typename F> uint64_t invokeBits(F f) {
  if constexpr (std::is_void_v<decltype(f())>) {
    f();
    return 0;
  } else {
    return toBits(f());
  }
}
} // namespace tessera_cosim

)";
  if (isCSource(g.sourceFile)) {
    std::string decl = "extern \"C\" " + cType(g.retCType) + " " + g.name + "(";
    for (size_t i = 0; i < g.params.size(); ++i)
      decl += (i ? ", " : "") + cType(g.params[i].cType) + " tc_p" + std::to_string(i);
    if (g.params.empty())
      decl += "void";
    s += decl + ");\n\n";
  } else {
    s += "#include \"" + fs::absolute(g.sourceFile).string() + "\"\n\n";
  }
  s += "extern \"C\" uint64_t tessera_hls_call(const uint64_t *tc_s, uint64_t *const *tc_a, "
       "const uint32_t *tc_depth) {\n";
  s += "  using tc_fn = decltype(&" + g.name + ");\n";
  std::string call;
  for (size_t i = 0; i < g.params.size(); ++i) {
    const Param &p = g.params[i];
    std::string k = std::to_string(i);
    std::string elem = "tessera_cosim::ElemOf<tc_fn, " + k + ">";
    if (p.isStream) {
      // tc_a[k]: an input stream's elements (tc_depth[k] of them; the count taken is
      // written after them), or an output stream's buffer (count first, then elements).
      std::string t = "tc_t" + k;
      s += "  using " + t + " = std::remove_cv_t<std::remove_reference_t<typename "
           "tessera_cosim::Traits<tc_fn>::template Arg<" + k + ">>>;\n";
      s += "  " + t + " *tc_s" + k + " = new " + t + "();\n";
      if (p.index < g.streams.size() && g.streams[p.index].dir == StreamDir::In)
        s += "  for (uint32_t tc_i = 0; tc_i < tc_depth[" + k + "] && !tc_s" + k +
             "->full(); ++tc_i)\n    tc_s" + k + "->write(tessera_cosim::fromBits<typename " + t +
             "::value_type>(tc_a[" + k + "][tc_i]));\n";
      call += (i ? ", " : "") + std::string("*tc_s") + k;
    } else if (p.isArray) {
      s += "  tessera_cosim::Buf<" + elem + "> tc_b" + k + "(tc_depth[" + k + "]);\n";
      s += "  for (uint32_t tc_i = 0; tc_i < tc_depth[" + k + "]; ++tc_i)\n    tc_b" + k +
           ".p[tc_i] = tessera_cosim::fromBits<" + elem + ">(tc_a[" + k + "][tc_i]);\n";
      call += (i ? ", " : "") + std::string("tc_b") + k + ".p";
    } else {
      std::string param = "tessera_cosim::ParamOf<tc_fn, " + k + ">";
      s += "  " + param + " tc_v" + k + " = tessera_cosim::fromBits<" + param + ">(tc_s[" + k +
           "]);\n";
      call += (i ? ", " : "") + std::string("tc_v") + k;
    }
  }
  s += "  uint64_t tc_ret = tessera_cosim::invokeBits([&]() { return " + g.name + "(" + call +
       "); });\n";
  for (size_t i = 0; i < g.params.size(); ++i) {
    std::string k = std::to_string(i);
    if (g.params[i].isStream) {
      if (g.params[i].index < g.streams.size() && g.streams[g.params[i].index].dir == StreamDir::In)
        s += "  tc_a[" + k + "][tc_depth[" + k + "]] = tc_depth[" + k + "] - tc_s" + k +
             "->size();\n";
      else
        s += "  tc_a[" + k + "][0] = 0;\n  while (!tc_s" + k + "->empty() && tc_a[" + k +
             "][0] < tc_depth[" + k + "])\n    tc_a[" + k + "][1 + tc_a[" + k +
             "][0]++] = tessera_cosim::toBits(tc_s" + k + "->read());\n";
      s += "  delete tc_s" + k + ";\n";
    } else if (g.params[i].isArray) {
      s += "  for (uint32_t tc_i = 0; tc_i < tc_depth[" + k + "]; ++tc_i)\n    tc_a[" + k +
           "][tc_i] = tessera_cosim::toBits(tc_b" + k + ".p[tc_i]);\n";
    }
  }
  s += "  return tc_ret;\n}\n";
  return s;
}

NativeKernel::NativeKernel(NativeKernel &&o) noexcept { *this = std::move(o); }
NativeKernel &NativeKernel::operator=(NativeKernel &&o) noexcept {
  if (this != &o) {
    if (handle_)
      dlclose(handle_);
    handle_ = o.handle_;
    fn_ = o.fn_;
    so_ = std::move(o.so_);
    cacheHit_ = o.cacheHit_;
    o.handle_ = nullptr;
    o.fn_ = nullptr;
  }
  return *this;
}
NativeKernel::~NativeKernel() {
  if (handle_)
    dlclose(handle_);
}

Expected<NativeKernel> NativeKernel::load(const Cdfg &g,
                                          const std::vector<std::string> &includeDirs,
                                          const std::string &cacheDirIn) {
  if (g.sourceFile.empty())
    return Diagnostic::error("cosim-no-source",
                             fmt::format("kernel '{}' has no source file to run natively", g.name),
                             g.loc);
  TRY_ASSIGN(std::string kernelText, readTextFile(g.sourceFile));
  std::string wrapper = nativeWrapperSource(g);
  const std::string clang = TESSERA_CLANG;
  const std::string clangxx = clang + "++";
  std::vector<std::string> incFlags = {"-I" + std::string(TESSERA_HLS_INCLUDE)};
  for (const std::string &d : includeDirs)
    incFlags.push_back("-I" + d);
  // The key: everything that can change the object.
  uint64_t h = 0xcbf29ce484222325ull;
  h = fnv1a(h, wrapper);
  h = fnv1a(h, kernelText);
  h = fnv1a(h, clangxx);
  h = fnv1a(h, "-std=c++20 -fwrapv -O1 | -std=c17 -fwrapv -O1"); // the compile flags below
  for (const std::string &f : incFlags)
    h = fnv1a(h, f);
  if (auto hlsH = readTextFile(std::string(TESSERA_HLS_INCLUDE) + "/tessera/hls.h"); hlsH.ok())
    h = fnv1a(h, *hlsH);
  std::string cacheDir = cacheDirIn.empty() ? defaultCacheDir() : cacheDirIn;
  std::error_code ec;
  fs::create_directories(cacheDir, ec);
  if (ec)
    return Diagnostic::error("io-error",
                             fmt::format("cannot create {}: {}", cacheDir, ec.message()));
  std::string key = fmt::format("{}-{:016x}", g.name, h);
  std::string so = cacheDir + "/" + key + ".so";
  NativeKernel k;
  k.cacheHit_ = fs::exists(so);
  if (!k.cacheHit_) {
    std::string work = cacheDir + "/" + key + fmt::format(".build.{}", ::getpid());
    fs::create_directories(work, ec);
    if (ec)
      return Diagnostic::error("io-error", fmt::format("cannot create {}: {}", work, ec.message()));
    TRY(writeTextFile(work + "/wrapper.cpp", wrapper));
    // -fwrapv as in the front end (FrontEnd.cpp): signed overflow wraps on both sides.
    std::vector<std::string> link = {clangxx, "-std=c++20", "-fwrapv", "-O1", "-fPIC", "-shared", "-w"};
    link.insert(link.end(), incFlags.begin(), incFlags.end());
    link.push_back(work + "/wrapper.cpp");
    if (isCSource(g.sourceFile)) {
      std::vector<std::string> cc = {clang, "-x", "c", "-std=c17", "-fwrapv", "-O1", "-fPIC", "-w", "-c"};
      cc.insert(cc.end(), incFlags.begin(), incFlags.end());
      cc.insert(cc.end(), {fs::absolute(g.sourceFile).string(), "-o", work + "/kernel.o"});
      TRY_ASSIGN(ProcessResult r, runProcess(cc, work, work + "/cc", 120));
      if (r.exitCode != 0)
        return Diagnostic::error(
            "c-error", fmt::format("native build of {} failed:\n{}", g.sourceFile, r.err), g.loc);
      link.push_back(work + "/kernel.o");
    }
    link.insert(link.end(), {"-o", work + "/kernel.so"});
    TRY_ASSIGN(ProcessResult r, runProcess(link, work, work + "/link", 120));
    if (r.exitCode != 0)
      return Diagnostic::error(
          "c-error", fmt::format("native build of {} failed:\n{}", g.sourceFile, r.err), g.loc);
    fs::rename(work + "/kernel.so", so, ec); // atomic: concurrent builders race harmlessly
    if (ec)
      return Diagnostic::error("io-error",
                               fmt::format("cannot move {} into the cache: {}", so, ec.message()));
    fs::remove_all(work, ec);
  }
  k.so_ = so;
  k.handle_ = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!k.handle_)
    return Diagnostic::error("io-error", fmt::format("cannot load {}: {}", so, dlerror()));
  k.fn_ = dlsym(k.handle_, "tessera_hls_call");
  if (!k.fn_)
    return Diagnostic::error("io-error", fmt::format("{} has no tessera_hls_call", so));
  return k;
}

KernelOutputs NativeKernel::call(const Cdfg &g, const CosimVector &in) const {
  std::vector<uint64_t> scalars(g.params.size(), 0);
  std::vector<std::vector<uint64_t>> arrays(g.params.size());
  std::vector<uint64_t *> ptrs(g.params.size(), nullptr);
  std::vector<uint32_t> depth(g.params.size(), 0);
  for (size_t i = 0; i < g.params.size(); ++i) {
    const Param &p = g.params[i];
    if (p.isStream) {
      const Stream &st = g.streams[p.index];
      if (st.dir == StreamDir::In) {
        arrays[i] = p.index < in.streams.size() ? in.streams[p.index] : std::vector<uint64_t>();
        depth[i] = static_cast<uint32_t>(arrays[i].size());
        arrays[i].push_back(0); // the count taken comes back here
      } else {
        depth[i] = kNativeStreamCapacity;
        arrays[i].assign(1 + kNativeStreamCapacity, 0);
      }
      ptrs[i] = arrays[i].data();
    } else if (p.isArray) {
      const Memory &mem = g.memories[p.index];
      arrays[i] = p.index < in.mems.size() ? in.mems[p.index] : std::vector<uint64_t>();
      arrays[i].resize(mem.depth, 0);
      depth[i] = mem.depth;
      ptrs[i] = arrays[i].data();
    } else if (p.index < in.args.size()) {
      scalars[i] = in.args[p.index];
    }
  }
  KernelOutputs out;
  out.ret = reinterpret_cast<CallFn>(fn_)(scalars.data(), ptrs.data(), depth.data());
  if (g.ret)
    out.ret &= mask(g.ret->width);
  out.mems.resize(g.memories.size());
  out.streams.assign(g.streams.size(), {});
  out.consumed.assign(g.streams.size(), 0);
  for (size_t i = 0; i < g.params.size(); ++i) {
    const Param &p = g.params[i];
    if (!p.isStream)
      continue;
    const Stream &st = g.streams[p.index];
    if (st.dir == StreamDir::In) {
      out.consumed[p.index] = arrays[i][depth[i]];
    } else {
      uint64_t n = std::min<uint64_t>(arrays[i][0], kNativeStreamCapacity);
      for (uint64_t j = 0; j < n; ++j)
        out.streams[p.index].push_back(arrays[i][1 + j] & mask(st.width));
    }
  }
  for (size_t i = 0; i < g.params.size(); ++i)
    if (g.params[i].isArray) {
      const Memory &mem = g.memories[g.params[i].index];
      for (uint64_t &x : arrays[i])
        x &= mask(mem.elemWidth);
      out.mems[g.params[i].index] = std::move(arrays[i]);
    }
  return out;
}

namespace {

std::optional<Mismatch> compare(const Cdfg &g, const KernelOutputs &ref, const KernelOutputs &got,
                                uint32_t vector, const std::string &against) {
  if (g.ret && ref.ret != got.ret)
    return Mismatch{vector, "return", 0, ref.ret, got.ret, against};
  for (size_t m = 0; m < g.memories.size(); ++m) {
    const Memory &mem = g.memories[m];
    if (mem.kind != MemKind::Interface || mem.readOnly)
      continue;
    for (size_t i = 0; i < mem.depth; ++i) {
      uint64_t r = i < ref.mems[m].size() ? ref.mems[m][i] : 0;
      uint64_t a = i < got.mems[m].size() ? got.mems[m][i] : 0;
      if (r != a)
        return Mismatch{vector, mem.name, i, r, a, against};
    }
  }
  for (size_t k = 0; k < g.streams.size(); ++k) {
    const Stream &st = g.streams[k];
    auto at = [&](const std::vector<std::vector<uint64_t>> &v) -> const std::vector<uint64_t> & {
      static const std::vector<uint64_t> none;
      return k < v.size() ? v[k] : none;
    };
    if (st.dir == StreamDir::In) {
      uint64_t r = k < ref.consumed.size() ? ref.consumed[k] : 0;
      uint64_t a = k < got.consumed.size() ? got.consumed[k] : 0;
      if (r != a)
        return Mismatch{vector, st.name + " consumed", 0, r, a, against};
      continue;
    }
    const std::vector<uint64_t> &rs = at(ref.streams), &as = at(got.streams);
    for (size_t i = 0; i < std::min(rs.size(), as.size()); ++i)
      if (rs[i] != as[i])
        return Mismatch{vector, st.name, i, rs[i], as[i], against};
    if (rs.size() != as.size())
      return Mismatch{vector, st.name + " length", 0, rs.size(), as.size(), against};
  }
  return std::nullopt;
}

} // namespace

Expected<CosimResult> cosimKernel(const Cdfg &g, const hw::Design &d, const CosimOptions &opts) {
  CosimResult res;
  std::optional<NativeKernel> native;
  if (opts.native && !g.sourceFile.empty()) {
    TRY_ASSIGN(NativeKernel k, NativeKernel::load(g, opts.includeDirs, opts.cacheDir));
    native.emplace(std::move(k));
    res.nativeUsed = true;
  }
  sim::SimOptions so;
  so.engine = opts.engine;
  TRY_ASSIGN(std::unique_ptr<sim::Simulator> sim, sim::Simulator::create(d, so));
  std::vector<CosimVector> vectors = opts.vectors;
  for (uint32_t i = 0; i < opts.randomVectors; ++i)
    vectors.push_back(randomVector(g, opts.seed + i));
  res.loopII.assign(g.loops.size(), 0);
  uint64_t total = 0;
  for (uint32_t vi = 0; vi < vectors.size(); ++vi) {
    const CosimVector &in = vectors[vi];
    KernelOutputs evalOut;
    evalOut.mems.resize(g.memories.size());
    for (size_t m = 0; m < g.memories.size(); ++m) {
      if (g.memories[m].kind != MemKind::Interface)
        continue;
      evalOut.mems[m] = m < in.mems.size() ? in.mems[m] : std::vector<uint64_t>();
      evalOut.mems[m].resize(g.memories[m].depth, 0);
    }
    StreamData sd;
    sd.data.resize(g.streams.size());
    for (size_t k = 0; k < g.streams.size(); ++k)
      if (g.streams[k].dir == StreamDir::In && k < in.streams.size())
        sd.data[k] = in.streams[k];
    TRY_ASSIGN(EvalResult er, evaluate(g, in.args, evalOut.mems, 100'000'000, &sd));
    evalOut.streams.assign(g.streams.size(), {});
    evalOut.consumed.assign(g.streams.size(), 0);
    for (size_t k = 0; k < g.streams.size(); ++k) {
      if (g.streams[k].dir == StreamDir::Out)
        evalOut.streams[k] = std::move(sd.data[k]);
      else
        evalOut.consumed[k] = sd.consumed[k];
    }
    evalOut.ret = g.ret ? er.ret & mask(g.ret->width) : 0;
    KernelOutputs ref = evalOut;
    std::string against = "evaluate";
    if (native) {
      ref = native->call(g, in);
      against = "native";
    }
    TRY_ASSIGN(RtlRun run, runRtl(g, *sim, in, opts.maxCycles));
    ++res.vectors;
    res.latencies.push_back(run.latency);
    total += run.latency;
    res.minLatency = res.vectors == 1 ? run.latency : std::min(res.minLatency, run.latency);
    res.maxLatency = std::max(res.maxLatency, run.latency);
    for (size_t l = 0; l < g.loops.size(); ++l)
      if (run.loopII[l] && (res.loopII[l] == 0 || run.loopII[l] < res.loopII[l]))
        res.loopII[l] = run.loopII[l];
    std::optional<Mismatch> mm = compare(g, ref, run.out, vi, against);
    if (!mm && native) // the evaluator is a reference too: a disagreement is a front-end bug
      if ((mm = compare(g, ref, evalOut, vi, "native")))
        mm->against = "native (evaluate differs)";
    if (mm) {
      if (!res.firstMismatch)
        res.firstMismatch = mm;
    } else {
      ++res.passed;
    }
  }
  res.meanLatency = res.vectors ? double(total) / res.vectors : 0;
  return res;
}

} // namespace tessera::hls
