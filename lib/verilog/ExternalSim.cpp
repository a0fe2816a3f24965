//===- ExternalSim.cpp - Verilator and Icarus Verilog as reference simulators -===//
//
// Verilator: a generated C++ main drives the Verilated model with the cycle protocol of
// sim/Sim.h (inputs, eval, sample outputs, clock high, eval, clock low). Inputs come from
// the splitmix64 stream of sim/Stimulus.h, re-implemented in the harness, or from a binary
// file of 64-bit words. The harness takes cycles, seed and files on its command line, so
// one build serves every run; builds are cached in workDir under a hash of the Verilog,
// the top, the ports and the flags. The harness prints the checksum, the loop's run time
// (steady_clock) and its peak RSS (getrusage).
//
// Icarus: a generated Verilog test bench reads one $readmemh file per data input (written
// here, from the same random stream) and $fwrites every output in hex each cycle; the
// checksum is computed here from those values.
//
// Tools run as child processes (fork/exec, output to files in workDir, rusage from wait4).
//
//===----------------------------------------------------------------------===//
#include "verilog/ExternalSim.h"

#include "support/FileIO.h"
#include "support/Process.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace tessera::verilog {

namespace {

uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t checksumMix(uint64_t h, uint64_t word) {
  uint64_t s = h ^ word;
  return splitmix64(s);
}

/// sim/Stimulus.h isResetName, re-implemented (verilog does not depend on sim).
bool isResetName(std::string_view name, bool &activeLow) {
  std::string n(name);
  for (char &c : n)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const char *kHigh[] = {"rst", "reset", "arst"};
  static const char *kLow[] = {"rst_n", "reset_n", "rstn", "resetn", "arst_n"};
  for (const char *h : kHigh)
    if (n == h) {
      activeLow = false;
      return true;
    }
  for (const char *l : kLow)
    if (n == l) {
      activeLow = true;
      return true;
    }
  return false;
}

uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  // Separator so that ("ab","c") and ("a","bc") differ.
  h ^= 0xff;
  h *= 0x100000001b3ULL;
  return h;
}

std::string hex16(uint64_t v) {
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

uint32_t wordsOf(uint32_t width) { return (width + 63) / 64; }
uint64_t topMask(uint32_t width) {
  uint32_t r = width % 64;
  return r == 0 ? ~uint64_t(0) : (uint64_t(1) << r) - 1;
}

/// First `maxLines` lines of `text`.
std::string firstLines(const std::string &text, int maxLines = 20) {
  std::string out;
  int lines = 0;
  size_t pos = 0;
  while (pos < text.size() && lines < maxLines) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos)
      nl = text.size();
    if (!out.empty())
      out += "\n";
    out += text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lines;
  }
  if (pos < text.size())
    out += "\n...";
  return out;
}

using ProcResult = ProcessResult;

Diagnostic toolError(const std::string &what, const ProcResult &p) {
  std::string msg = what;
  if (p.timedOut)
    msg += " timed out after " + std::to_string(static_cast<int>(p.seconds)) + " s";
  else if (p.exitCode == 127)
    msg += " could not be run (not installed or not on PATH)";
  else if (p.exitCode < 0)
    msg += " was killed by a signal";
  else
    msg += " failed with exit code " + std::to_string(p.exitCode);
  std::string detail = firstLines(p.err.empty() ? p.out : p.err);
  if (!detail.empty())
    msg += ":\n" + detail;
  return Diagnostic::error("reference-failed", msg);
}

/// First line of `tool args` output, cached per tool.
std::string toolVersion(const std::string &tool, const std::string &arg, const std::string &dir) {
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  std::lock_guard<std::mutex> lock(mu);
  std::string key = tool + " " + arg;
  if (auto it = cache.find(key); it != cache.end())
    return it->second;
  std::string v;
  if (auto p = runProcess({tool, arg}, dir, dir + "/version"); p.ok()) {
    std::string text = p->out.empty() ? p->err : p->out;
    v = text.substr(0, text.find('\n'));
  }
  cache[key] = v;
  return v;
}

/// Whether `tool` is an executable on PATH.
bool onPath(const std::string &tool) {
  const char *path = std::getenv("PATH");
  if (!path)
    return false;
  std::string_view rest(path);
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    if (!dir.empty() && access((dir + "/" + tool).c_str(), X_OK) == 0)
      return true;
  }
  return false;
}

struct DataInput {
  std::string name;
  uint32_t width;
  bool isReset = false, activeLow = false;
};

std::vector<DataInput> dataInputsOf(const std::vector<RefPort> &inputs) {
  std::vector<DataInput> d;
  for (const RefPort &p : inputs)
    if (!p.isClock) {
      DataInput di{p.name, p.width};
      di.isReset = isResetName(p.name, di.activeLow);
      d.push_back(di);
    }
  return d;
}

/// Per-cycle input values as 64-bit words: [cycle][input][word], flattened.
std::vector<uint64_t> stimulusWords(const std::vector<DataInput> &ins, const RefOptions &opts,
                                    uint64_t cycles) {
  std::vector<uint64_t> words;
  size_t perCycle = 0;
  for (const DataInput &d : ins)
    perCycle += wordsOf(d.width);
  words.reserve(perCycle * cycles);
  uint64_t state = opts.seed;
  for (uint64_t c = 0; c < cycles; ++c)
    for (size_t i = 0; i < ins.size(); ++i) {
      const DataInput &d = ins[i];
      uint32_t nw = wordsOf(d.width);
      if (!opts.explicitInputs.empty()) {
        const hw::BitVec &v = opts.explicitInputs[c][i];
        for (uint32_t k = 0; k < nw; ++k)
          words.push_back(k == nw - 1 ? v.word(k) & topMask(d.width) : v.word(k));
        continue;
      }
      if (d.isReset) {
        bool active = c < opts.resetCycles;
        words.push_back(active != d.activeLow ? 1 : 0);
        for (uint32_t k = 1; k < nw; ++k)
          words.push_back(0);
        continue;
      }
      for (uint32_t k = 0; k < nw; ++k) {
        uint64_t w = splitmix64(state);
        words.push_back(k == nw - 1 ? w & topMask(d.width) : w);
      }
    }
  return words;
}

Status checkOptions(const std::vector<RefPort> &inputs, const RefOptions &opts, uint64_t &cycles) {
  if (opts.workDir.empty())
    return Diagnostic::error("reference-failed", "no work directory given");
  size_t nData = 0;
  for (const RefPort &p : inputs)
    nData += !p.isClock;
  cycles = opts.cycles;
  if (!opts.explicitInputs.empty()) {
    if (cycles == 0 || cycles > opts.explicitInputs.size())
      cycles = opts.explicitInputs.size();
    for (uint64_t c = 0; c < cycles; ++c)
      if (opts.explicitInputs[c].size() != nData)
        return Diagnostic::error("reference-failed",
                                 "explicit inputs of cycle " + std::to_string(c) + " have " +
                                     std::to_string(opts.explicitInputs[c].size()) +
                                     " values, expected " + std::to_string(nData));
  }
  std::error_code ec;
  fs::create_directories(opts.workDir, ec);
  if (ec)
    return Diagnostic::error("io-error", "cannot create '" + opts.workDir + "': " + ec.message());
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Verilator
//===----------------------------------------------------------------------===//

/// The C++ member name Verilator 5 gives a port (AstNode::encodeName): "__" becomes
/// "___05F", other characters than letters, digits and '_' "__0" + two hex digits, and
/// names in its C++ reserved-word list get a "__SYM__" prefix.
std::string verilatorName(const std::string &name) {
  static const std::set<std::string> kReserved = {
      "alignas",   "alignof",  "and",           "and_eq",       "asm",
      "auto",      "bitand",   "bitor",         "bool",         "break",
      "case",      "catch",    "char",          "char16_t",     "char32_t",
      "class",     "compl",    "concept",       "const",        "const_cast",
      "constexpr", "continue", "decltype",      "default",      "delete",
      "do",        "double",   "dynamic_cast",  "else",         "enum",
      "explicit",  "export",   "extern",        "false",        "float",
      "for",       "friend",   "goto",          "if",           "inline",
      "int",       "long",     "mutable",       "namespace",    "new",
      "noexcept",  "not",      "not_eq",        "nullptr",      "operator",
      "or",        "or_eq",    "private",       "protected",    "public",
      "register",  "requires", "return",        "short",        "signed",
      "sizeof",    "static",   "static_assert", "static_cast",  "struct",
      "switch",    "template", "this",          "thread_local", "throw",
      "true",      "try",      "typedef",       "typeid",       "typename",
      "uint16_t",  "uint32_t", "uint8_t",       "union",        "unsigned",
      "using",     "virtual",  "void",          "volatile",     "wchar_t",
      "while",     "xor",      "xor_eq"};
  if (kReserved.count(name))
    return "__SYM__" + name;
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (i == 0 ? std::isalpha(c) : std::isalnum(c)) {
      out += static_cast<char>(c);
    } else if (c == '_') {
      out += '_';
      if (i + 1 < name.size() && name[i + 1] == '_') {
        out += "__05F";
        ++i;
      }
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "__0%02x", c);
      out += hex;
    }
  }
  return out;
}

std::string cType(uint32_t width) {
  if (width <= 8)
    return "CData";
  if (width <= 16)
    return "SData";
  if (width <= 32)
    return "IData";
  return "QData";
}

/// The C++ main. Arguments: cycles seed resetCycles inputs.bin|- outputs.bin|-
std::string verilatorHarness(const std::vector<RefPort> &inputs,
                             const std::vector<RefPort> &outputs, bool randomizeUninit) {
  std::vector<DataInput> ins = dataInputsOf(inputs);
  uint32_t maxWords = 1;
  for (const RefPort &p : inputs)
    maxWords = std::max(maxWords, wordsOf(p.width));
  for (const RefPort &p : outputs)
    maxWords = std::max(maxWords, wordsOf(p.width));
  std::ostringstream os;
  os << "// Generated by tessera (lib/verilog/ExternalSim.cpp): Verilator harness.\n"
        "#include \"Vdut.h\"\n#include \"verilated.h\"\n\n"
        "#include <chrono>\n#include <cstdint>\n#include <cstdio>\n#include <cstdlib>\n"
        "#include <vector>\n#include <sys/resource.h>\n\n"
        "static inline uint64_t splitmix64(uint64_t &s) {\n"
        "  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);\n"
        "  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;\n"
        "  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;\n"
        "  return z ^ (z >> 31);\n}\n"
        "static inline uint64_t mix(uint64_t h, uint64_t w) {\n"
        "  uint64_t s = h ^ w;\n  return splitmix64(s);\n}\n\n";

  // Setting inputs: from the random stream (kFile false) or the word file.
  os << "template <bool kFile>\n"
        "static uint64_t run(Vdut *dut, uint64_t cycles, uint64_t seed, uint64_t resetCycles,\n"
        "                    const uint64_t *words, FILE *out) {\n"
        "  uint64_t st = seed, h = 0;\n  size_t pos = 0;\n"
        "  uint64_t w["
     << maxWords
     << "];\n"
        "  (void)st; (void)pos; (void)words; (void)resetCycles;\n"
        "  std::vector<uint64_t> rec;\n"
        "  for (uint64_t c = 0; c < cycles; ++c) {\n";
  for (const DataInput &d : ins) {
    uint32_t nw = wordsOf(d.width);
    os << "    // " << d.name << " [" << d.width << "]\n";
    if (d.isReset) {
      os << "    if (kFile) w[0] = words[pos++];\n"
         << "    else w[0] = c < resetCycles ? " << (d.activeLow ? 0 : 1) << " : "
         << (d.activeLow ? 1 : 0) << ";\n";
      for (uint32_t k = 1; k < nw; ++k)
        os << "    w[" << k << "] = kFile ? words[pos++] : 0;\n";
    } else {
      for (uint32_t k = 0; k < nw; ++k) {
        os << "    w[" << k << "] = kFile ? words[pos++] : splitmix64(st);\n";
      }
      if (d.width % 64)
        os << "    w[" << nw - 1 << "] &= 0x" << std::hex << topMask(d.width) << std::dec
           << "ULL;\n";
    }
    if (d.width <= 64) {
      os << "    dut->" << verilatorName(d.name) << " = (" << cType(d.width) << ")w[0];\n";
    } else {
      uint32_t n32 = (d.width + 31) / 32;
      for (uint32_t k = 0; k < n32; ++k)
        os << "    dut->" << verilatorName(d.name) << "[" << k << "] = (uint32_t)(w[" << k / 2
           << "]" << (k % 2 ? " >> 32" : "") << ");\n";
    }
  }
  os << "    dut->eval();\n";
  for (const RefPort &o : outputs) {
    uint32_t nw = wordsOf(o.width);
    if (o.width <= 64) {
      os << "    w[0] = (uint64_t)dut->" << verilatorName(o.name) << ";\n";
    } else {
      uint32_t n32 = (o.width + 31) / 32;
      for (uint32_t k = 0; k < nw; ++k) {
        os << "    w[" << k << "] = (uint64_t)dut->" << verilatorName(o.name) << "[" << 2 * k
           << "]";
        if (2 * k + 1 < n32)
          os << " | ((uint64_t)dut->" << verilatorName(o.name) << "[" << 2 * k + 1 << "] << 32)";
        os << ";\n";
      }
    }
    for (uint32_t k = 0; k < nw; ++k) {
      os << "    h = mix(h, w[" << k << "]);\n";
      os << "    if (out) rec.push_back(w[" << k << "]);\n";
    }
  }
  os << "    if (out && rec.size() >= 65536) {\n"
        "      fwrite(rec.data(), sizeof(uint64_t), rec.size(), out);\n"
        "      rec.clear();\n    }\n";
  for (const RefPort &p : inputs)
    if (p.isClock)
      os << "    dut->" << verilatorName(p.name) << " = 1;\n";
  os << "    dut->eval();\n";
  for (const RefPort &p : inputs)
    if (p.isClock)
      os << "    dut->" << verilatorName(p.name) << " = 0;\n";
  os << "  }\n"
        "  if (out) fwrite(rec.data(), sizeof(uint64_t), rec.size(), out);\n"
        "  return h;\n}\n\n";

  os << "int main(int argc, char **argv) {\n"
        "  if (argc < 6) {\n"
        "    fprintf(stderr, \"usage: harness CYCLES SEED RESET_CYCLES IN|- OUT|-\\n\");\n"
        "    return 2;\n  }\n"
        "  uint64_t cycles = strtoull(argv[1], nullptr, 10);\n"
        "  uint64_t seed = strtoull(argv[2], nullptr, 10);\n"
        "  uint64_t resetCycles = strtoull(argv[3], nullptr, 10);\n"
        "  std::vector<uint64_t> words;\n"
        "  bool fromFile = argv[4][0] != '-';\n"
        "  if (fromFile) {\n"
        "    FILE *f = fopen(argv[4], \"rb\");\n"
        "    if (!f) { perror(argv[4]); return 1; }\n"
        "    uint64_t buf[4096];\n    size_t n;\n"
        "    while ((n = fread(buf, sizeof(uint64_t), 4096, f)) > 0)\n"
        "      words.insert(words.end(), buf, buf + n);\n"
        "    fclose(f);\n  }\n"
        "  FILE *out = nullptr;\n"
        "  if (argv[5][0] != '-') {\n"
        "    out = fopen(argv[5], \"wb\");\n"
        "    if (!out) { perror(argv[5]); return 1; }\n  }\n"
        "  VerilatedContext *ctx = new VerilatedContext;\n";
  if (randomizeUninit)
    os << "  // State without an initial value starts random, so that a missing initial\n"
          "  // value in emitted Verilog shows up as a mismatch.\n"
          "  ctx->randReset(2);\n  ctx->randSeed(12345);\n";
  os << "  Vdut *dut = new Vdut{ctx};\n"
        "  // Time zero: every input 0, initial blocks run.\n";
  for (const RefPort &p : inputs) {
    if (p.width <= 64) {
      os << "  dut->" << verilatorName(p.name) << " = 0;\n";
    } else {
      for (uint32_t k = 0; k < (p.width + 31) / 32; ++k)
        os << "  dut->" << verilatorName(p.name) << "[" << k << "] = 0;\n";
    }
  }
  os << "  dut->eval();\n"
        "  auto t0 = std::chrono::steady_clock::now();\n"
        "  uint64_t h = fromFile ? run<true>(dut, cycles, seed, resetCycles, words.data(), out)\n"
        "                        : run<false>(dut, cycles, seed, resetCycles, nullptr, out);\n"
        "  auto t1 = std::chrono::steady_clock::now();\n"
        "  dut->final();\n"
        "  if (out) fclose(out);\n"
        "  struct rusage ru;\n  getrusage(RUSAGE_SELF, &ru);\n"
        "  printf(\"checksum %llu\\n\", (unsigned long long)h);\n"
        "  printf(\"run_seconds %.9f\\n\", std::chrono::duration<double>(t1 - t0).count());\n"
        "  printf(\"peak_rss_kb %ld\\n\", (long)ru.ru_maxrss);\n"
        "  delete dut;\n  delete ctx;\n  return 0;\n}\n";
  return os.str();
}

Status writeWords(const std::string &path, const std::vector<uint64_t> &words) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f)
    return Diagnostic::error("io-error", "cannot write '" + path + "'");
  f.write(reinterpret_cast<const char *>(words.data()),
          static_cast<std::streamsize>(words.size() * sizeof(uint64_t)));
  if (!f)
    return Diagnostic::error("io-error", "cannot write '" + path + "'");
  return Status::success();
}

/// Parses the harness' "key value" lines.
std::map<std::string, std::string> parseKeyValues(const std::string &text) {
  std::map<std::string, std::string> kv;
  std::istringstream is(text);
  std::string line;
  while (std::getline(is, line)) {
    size_t sp = line.find(' ');
    if (sp != std::string::npos)
      kv[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return kv;
}

Expected<RefResult> runVerilator(const std::vector<std::string> &files, const std::string &top,
                                 const std::vector<RefPort> &inputs,
                                 const std::vector<RefPort> &outputs, const RefOptions &opts,
                                 uint64_t cycles) {
  RefResult res;
  res.version = toolVersion(opts.verilator, "--version", opts.workDir);

  std::vector<std::string> vflags = {"--cc", "--exe",      "--prefix",  "Vdut",      "--top-module",
                                     top,    "-Wno-fatal", "-Wno-lint", "-Wno-style"};
  std::vector<std::string> makeVars;
  if (opts.benchmarkFlags) {
    for (const char *f :
         {"-O3", "--x-assign", "fast", "--x-initial", "fast", "--noassert", "-CFLAGS", "-O2"})
      vflags.push_back(f);
    makeVars.push_back("OPT_FAST=-O2");
  } else {
    // Uninitialised state starts random (see the harness), and the C++ is compiled for a
    // quick build: these runs are short.
    // -fno-const-bit-op-tree: Verilator 5.006 folds some XOR trees with a constant 1 and
    // a comparison to the inverted value (found by tests/diff, see
    // docs/sim-verification.md; verilator#4059, fixed upstream in 5.010).
    // -fno-dfg: Verilator 5.006's DFG optimiser computed wrong values in 5 of 60 slow
    // differential batches (seeds 1009000, 1015000, 1020000, 1033000, 1047000: wide signed
    // division, comparisons feeding registers inside instance arrays), all right without it.
    for (const char *f : {"--x-assign", "0", "--x-initial", "unique", "-fno-const-bit-op-tree", "-fno-dfg"})
      vflags.push_back(f);
    makeVars.push_back("OPT_FAST=-O0");
    makeVars.push_back("OPT_SLOW=-O0");
    makeVars.push_back("OPT_GLOBAL=-O0");
    // One translation unit: parsing Verilator's headers once per file costs more than
    // compiling the model itself at -O0 (about 10x for a batch of random designs).
    makeVars.push_back("VM_PARALLEL_BUILDS=0");
    if (onPath("ccache"))
      makeVars.push_back("OBJCACHE=ccache");
  }
  std::string cxx = opts.cxx;
  if (cxx.empty() && !opts.benchmarkFlags && onPath("clang++"))
    cxx = "clang++";
  if (!cxx.empty()) {
    makeVars.push_back("CXX=" + cxx);
    makeVars.push_back("LINK=" + cxx);
  }
  vflags.push_back("--threads");
  vflags.push_back(std::to_string(std::max(1, opts.threads)));

  std::string harness = verilatorHarness(inputs, outputs, !opts.benchmarkFlags);

  // Cache key: everything that goes into the build.
  uint64_t key = 0xcbf29ce484222325ULL;
  key = fnv1a(key, res.version);
  key = fnv1a(key, top);
  for (const std::string &f : vflags)
    key = fnv1a(key, f);
  for (const std::string &f : makeVars)
    key = fnv1a(key, f);
  key = fnv1a(key, harness);
  std::vector<std::string> absFiles;
  for (const std::string &f : files) {
    TRY_ASSIGN(std::string text, readTextFile(f));
    key = fnv1a(key, text);
    absFiles.push_back(fs::absolute(f).string());
  }
  std::string dir = fs::absolute(opts.workDir).string() + "/verilator-" + hex16(key);
  std::string obj = dir + "/obj";
  std::string exe = obj + "/harness";
  std::string okMarker = dir + "/build.ok";

  std::error_code ec;
  if (fs::exists(okMarker, ec) && fs::exists(exe, ec)) {
    res.buildCached = true;
  } else {
    fs::remove_all(dir, ec);
    fs::create_directories(dir, ec);
    if (ec)
      return Diagnostic::error("io-error", "cannot create '" + dir + "': " + ec.message());
    TRY(writeTextFile(dir + "/harness.cpp", harness));
    std::vector<std::string> argv = {opts.verilator};
    argv.insert(argv.end(), vflags.begin(), vflags.end());
    argv.insert(argv.end(), {"-Mdir", obj, "-o", "harness"});
    argv.insert(argv.end(), absFiles.begin(), absFiles.end());
    argv.push_back(dir + "/harness.cpp");
    TRY_ASSIGN(ProcResult fe, runProcess(argv, dir, dir + "/verilator"));
    if (fe.exitCode != 0)
      return toolError("verilator", fe);
    res.frontEndSeconds = fe.seconds;

    std::vector<std::string> make = {
        "make", "-C", obj, "-f", "Vdut.mk", "-j" + std::to_string(std::max(1, opts.buildJobs))};
    make.insert(make.end(), makeVars.begin(), makeVars.end());
    TRY_ASSIGN(ProcResult cc, runProcess(make, dir, dir + "/make"));
    if (cc.exitCode != 0)
      return toolError("C++ build of the Verilator model", cc);
    res.compileSeconds = cc.seconds;
    TRY(writeTextFile(okMarker, "ok\n"));
  }

  // Run.
  std::string runDir = fs::absolute(opts.workDir).string();
  std::string inPath = "-", outPath = "-";
  std::vector<DataInput> ins = dataInputsOf(inputs);
  if (!opts.explicitInputs.empty()) {
    inPath = runDir + "/verilator-inputs.bin";
    TRY(writeWords(inPath, stimulusWords(ins, opts, cycles)));
  }
  if (opts.recordOutputs)
    outPath = runDir + "/verilator-outputs.bin";
  TRY_ASSIGN(ProcResult run, runProcess({exe, std::to_string(cycles), std::to_string(opts.seed),
                                         std::to_string(opts.resetCycles), inPath, outPath},
                                        runDir, runDir + "/verilator-run", opts.timeoutSeconds));
  if (run.exitCode != 0)
    return toolError("Verilator model", run);
  auto kv = parseKeyValues(run.out);
  if (!kv.count("checksum"))
    return Diagnostic::error("reference-failed",
                             "Verilator model printed no checksum:\n" + firstLines(run.out));
  res.checksum = std::strtoull(kv["checksum"].c_str(), nullptr, 10);
  res.runSeconds = std::strtod(kv["run_seconds"].c_str(), nullptr);
  res.peakRssKb = std::strtoull(kv["peak_rss_kb"].c_str(), nullptr, 10);

  if (opts.recordOutputs) {
    std::ifstream f(outPath, std::ios::binary);
    std::vector<uint64_t> words;
    uint64_t w;
    while (f.read(reinterpret_cast<char *>(&w), sizeof w))
      words.push_back(w);
    size_t perCycle = 0;
    for (const RefPort &o : outputs)
      perCycle += wordsOf(o.width);
    if (words.size() != perCycle * cycles)
      return Diagnostic::error("reference-failed",
                               "Verilator model wrote " + std::to_string(words.size()) +
                                   " output words, expected " + std::to_string(perCycle * cycles));
    size_t pos = 0;
    res.outputs.resize(cycles);
    for (uint64_t c = 0; c < cycles; ++c)
      for (const RefPort &o : outputs) {
        uint32_t nw = wordsOf(o.width);
        std::vector<uint64_t> ow(words.begin() + pos, words.begin() + pos + nw);
        pos += nw;
        res.outputs[c].push_back(hw::BitVec::fromWords(o.width, ow));
      }
  }
  return res;
}

//===----------------------------------------------------------------------===//
// Icarus Verilog
//===----------------------------------------------------------------------===//

std::string hexDigits(const uint64_t *words, uint32_t width) {
  uint32_t digits = (width + 3) / 4;
  std::string s(digits, '0');
  for (uint32_t d = 0; d < digits; ++d) {
    uint32_t bit = d * 4;
    uint64_t v = (words[bit / 64] >> (bit % 64)) & 0xf;
    s[digits - 1 - d] = "0123456789abcdef"[v];
  }
  return s;
}

/// `name` as a Verilog identifier: itself when simple, else escaped.
std::string verilogIdent(const std::string &name) {
  bool simple =
      !name.empty() && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (char c : name)
    simple = simple && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$');
  return simple ? name : "\\" + name + " ";
}

std::string icarusBench(const std::string &top, const std::vector<RefPort> &inputs,
                        const std::vector<RefPort> &outputs, uint64_t cycles) {
  auto range = [](uint32_t w) {
    return w == 1 ? std::string() : "[" + std::to_string(w - 1) + ":0] ";
  };
  // Test bench signals are named by position (tb_i<k>, tb_o<k>), so any port name works.
  std::vector<DataInput> ins = dataInputsOf(inputs);
  uint64_t depth = std::max<uint64_t>(cycles, 1);
  std::ostringstream os;
  os << "// Generated by tessera (lib/verilog/ExternalSim.cpp): Icarus test bench.\n"
        "module tessera_tb;\n";
  for (size_t i = 0; i < inputs.size(); ++i)
    os << "  reg " << range(inputs[i].width) << "tb_i" << i << "; // " << inputs[i].name << "\n";
  for (size_t i = 0; i < outputs.size(); ++i)
    os << "  wire " << range(outputs[i].width) << "tb_o" << i << "; // " << outputs[i].name << "\n";
  for (size_t i = 0; i < ins.size(); ++i)
    os << "  reg " << range(ins[i].width) << "tb_stim" << i << " [0:" << depth - 1 << "];\n";
  os << "  integer c, fd;\n\n  " << verilogIdent(top) << " dut (";
  bool first = true;
  for (size_t i = 0; i < inputs.size(); ++i) {
    os << (first ? "" : ",") << "\n    ." << verilogIdent(inputs[i].name) << "(tb_i" << i << ")";
    first = false;
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    os << (first ? "" : ",") << "\n    ." << verilogIdent(outputs[i].name) << "(tb_o" << i << ")";
    first = false;
  }
  os << "\n  );\n\n  initial begin\n";
  for (size_t i = 0; i < ins.size(); ++i)
    os << "    $readmemh(\"stim" << i << ".hex\", tb_stim" << i << ");\n";
  os << "    fd = $fopen(\"icarus-outputs.txt\", \"w\");\n";
  for (size_t i = 0; i < inputs.size(); ++i)
    os << "    tb_i" << i << " = 0;\n";
  os << "    #1;\n"
     << "    for (c = 0; c < " << cycles << "; c = c + 1) begin\n";
  for (size_t i = 0, d = 0; i < inputs.size(); ++i)
    if (!inputs[i].isClock)
      os << "      tb_i" << i << " = tb_stim" << d++ << "[c];\n";
  os << "      #1;\n      $fwrite(fd, \"";
  for (size_t i = 0; i < outputs.size(); ++i)
    os << (i ? " " : "") << "%h";
  os << "\\n\"";
  for (size_t i = 0; i < outputs.size(); ++i)
    os << ", tb_o" << i;
  os << ");\n";
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].isClock)
      os << "      tb_i" << i << " = 1;\n";
  os << "      #1;\n";
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].isClock)
      os << "      tb_i" << i << " = 0;\n";
  os << "    end\n    $fclose(fd);\n    $finish;\n  end\nendmodule\n";
  return os.str();
}

Expected<RefResult> runIcarus(const std::vector<std::string> &files, const std::string &top,
                              const std::vector<RefPort> &inputs,
                              const std::vector<RefPort> &outputs, const RefOptions &opts,
                              uint64_t cycles) {
  RefResult res;
  std::string dir = fs::absolute(opts.workDir).string() + "/icarus";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Diagnostic::error("io-error", "cannot create '" + dir + "': " + ec.message());
  res.version = toolVersion(opts.iverilog, "-V", dir);

  std::vector<DataInput> ins = dataInputsOf(inputs);
  std::vector<uint64_t> words = stimulusWords(ins, opts, cycles);
  size_t perCycle = 0;
  for (const DataInput &d : ins)
    perCycle += wordsOf(d.width);
  for (size_t i = 0, off = 0; i < ins.size(); off += wordsOf(ins[i].width), ++i) {
    std::string text;
    text.reserve(cycles * ((ins[i].width + 3) / 4 + 1));
    for (uint64_t c = 0; c < cycles; ++c) {
      text += hexDigits(&words[c * perCycle + off], ins[i].width);
      text += '\n';
    }
    TRY(writeTextFile(dir + "/stim" + std::to_string(i) + ".hex", text));
  }
  TRY(writeTextFile(dir + "/tb.v", icarusBench(top, inputs, outputs, cycles)));

  std::string vvp = "vvp";
  if (size_t slash = opts.iverilog.rfind('/'); slash != std::string::npos)
    vvp = opts.iverilog.substr(0, slash + 1) + "vvp";
  std::vector<std::string> argv = {opts.iverilog, "-g2005",     "-o",  "sim.vvp",
                                   "-s",          "tessera_tb", "tb.v"};
  for (const std::string &f : files)
    argv.push_back(fs::absolute(f).string());
  TRY_ASSIGN(ProcResult fe, runProcess(argv, dir, dir + "/iverilog"));
  if (fe.exitCode != 0)
    return toolError("iverilog", fe);
  res.frontEndSeconds = fe.seconds;

  TRY_ASSIGN(ProcResult run,
             runProcess({vvp, "-n", "sim.vvp"}, dir, dir + "/vvp", opts.timeoutSeconds));
  if (run.exitCode != 0)
    return toolError("vvp", run);
  res.runSeconds = run.seconds;
  res.peakRssKb = run.maxRssKb;

  TRY_ASSIGN(std::string text, readTextFile(dir + "/icarus-outputs.txt"));
  std::istringstream is(text);
  std::string line;
  uint64_t c = 0;
  uint64_t h = 0;
  for (; c < cycles && std::getline(is, line); ++c) {
    std::istringstream ls(line);
    std::vector<hw::BitVec> row;
    for (const RefPort &o : outputs) {
      std::string tok;
      if (!(ls >> tok))
        return Diagnostic::error("reference-failed", "Icarus output line " + std::to_string(c + 1) +
                                                         " has too few values");
      bool unknown = false;
      for (char &ch : tok)
        if (!std::isxdigit(static_cast<unsigned char>(ch))) {
          unknown = true;
          ch = '0';
        }
      if (unknown && res.firstUnknown.empty())
        res.firstUnknown = "cycle " + std::to_string(c) + " output " + o.name;
      std::optional<hw::BitVec> v = hw::BitVec::parse("0x" + tok, o.width);
      if (!v)
        return Diagnostic::error("reference-failed", "Icarus output '" + tok + "' of " + o.name +
                                                         " does not fit " +
                                                         std::to_string(o.width) + " bits");
      for (size_t k = 0; k < v->numWords(); ++k)
        h = checksumMix(h, v->word(k));
      if (opts.recordOutputs)
        row.push_back(std::move(*v));
    }
    if (opts.recordOutputs)
      res.outputs.push_back(std::move(row));
  }
  if (c != cycles)
    return Diagnostic::error("reference-failed", "Icarus wrote " + std::to_string(c) +
                                                     " cycles of outputs, expected " +
                                                     std::to_string(cycles));
  res.checksum = h;
  return res;
}

} // namespace

Expected<RefResult> runReference(const std::vector<std::string> &verilogFiles,
                                 const std::string &top, const std::vector<RefPort> &inputs,
                                 const std::vector<RefPort> &outputs, const RefOptions &opts) {
  uint64_t cycles = 0;
  TRY(checkOptions(inputs, opts, cycles));
  if (opts.tool == RefTool::Verilator)
    return runVerilator(verilogFiles, top, inputs, outputs, opts, cycles);
  return runIcarus(verilogFiles, top, inputs, outputs, opts, cycles);
}

} // namespace tessera::verilog
