//===- FrontEnd.cpp - C/C++ kernel -> clang-14 -> our LLVM pipeline -> Cdfg ---===//
//
// The front end of `tessera hls` (FrontEnd.h). clang-14 runs as an external process
// (-O0 -Xclang -disable-O0-optnone -g: unoptimised IR that stays optimisable, with debug
// info for every C location); the bitcode is loaded into an LLVMContext and checked while
// it still mirrors the source (recursion, dynamic allocation, function pointers, floating
// point, wide integers, volatile / atomics), and what only the unoptimised module shows
// is gathered: parameter names and debug types, `annotate` attributes (which block SROA
// and are removed here), interface array depths. Then every callee is marked
// always_inline, every loop without an unroll pragma gets `llvm.loop.unroll.disable`
// (unrolling happens only where the user asked for it; the requested count is copied into
// `tessera.unroll.count` so that it survives the unroller's metadata rewrite), and the
// fixed new-pass-manager pipeline below runs. FromLlvm.cpp converts the result.
//
//===----------------------------------------------------------------------===//
#include "hls/FrontEnd.h"
#include "hls/FromLlvm.h"
#include "support/FileIO.h"
#include "support/Process.h"

#include <fmt/format.h>

#include <llvm/ADT/SmallVector.h>
#include <llvm/ADT/StringRef.h>
#include <llvm/Analysis/LoopInfo.h>
#include <llvm/Analysis/ValueTracking.h>
#include <llvm/Demangle/Demangle.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/DebugInfo.h>
#include <llvm/IR/DebugInfoMetadata.h>
#include <llvm/IR/Dominators.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/InstIterator.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IRReader/IRReader.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/raw_ostream.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <unistd.h>

namespace fs = std::filesystem;

namespace tessera::hls {

using namespace detail;

std::string hlsIncludeDir() { return TESSERA_HLS_INCLUDE; }

namespace {

/// The fixed optimisation pipeline (docs/hls.md). Everything is inlined into the top;
/// globalopt folds static variables that are never written. Loop passes run inside the
/// loop adaptors, which put loops into loop-simplify / LCSSA form first; LICM runs with
/// MemorySSA; unrolling only touches loops with a pragma (the others carry
/// llvm.loop.unroll.disable); simplifycfg keeps loops and if-converts branches into
/// selects (raiseSpeculationLimits); switches are lowered to branch chains last.
constexpr const char *kPipeline = "always-inline,globalopt,globaldce,"
                                  "function(sroa,early-cse,instcombine,simplifycfg,"
                                  "loop-mssa(loop-rotate,licm),"
                                  "loop(loop-instsimplify,indvars,loop-deletion),"
                                  "loop-unroll<O2>,"
                                  "sroa,instcombine,gvn,sccp,adce,simplifycfg,instcombine,"
                                  "loop-mssa(licm),simplifycfg,adce,lowerswitch)";

/// A scratch directory removed on destruction.
struct TempDir {
  std::string path;
  TempDir() {
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec)
      base = "/tmp";
    std::string tmpl = (base / "tessera-hls-XXXXXX").string();
    if (mkdtemp(tmpl.data()))
      path = tmpl;
  }
  ~TempDir() {
    if (!path.empty()) {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  }
};

bool isCFile(const std::string &file) {
  std::string ext = fs::path(file).extension().string();
  return ext == ".c";
}

std::vector<std::string> baseClangArgs(const std::string &file, const FrontEndOptions &opts) {
  std::vector<std::string> argv = {opts.clang.empty() ? std::string(TESSERA_CLANG) : opts.clang};
  if (isCFile(file))
    argv.insert(argv.end(), {"-x", "c", "-std=gnu17", "-Werror=implicit-function-declaration"});
  else
    argv.insert(argv.end(), {"-x", "c++", "-std=c++20", "-fno-exceptions", "-fno-rtti"});
  // -fwrapv: signed overflow wraps, as the generated hardware does (and as the native
  // co-simulation build is told to), instead of being undefined behaviour the optimiser
  // could exploit differently on the two sides.
  argv.insert(argv.end(), {"-fwrapv", "-O0", "-Xclang", "-disable-O0-optnone", "-g", "-emit-llvm",
                           "-fno-discard-value-names", "-femit-all-decls", "-fno-color-diagnostics",
                           "-fno-caret-diagnostics", "-DTESSERA_HLS_SYNTHESIS", "-I",
                           hlsIncludeDir()});
  for (const std::string &d : opts.includeDirs)
    argv.insert(argv.end(), {"-I", d});
  for (const std::string &d : opts.defines)
    argv.push_back("-D" + d);
  return argv;
}

/// clang's own errors as a `c-error` diagnostic at the first error's location; later
/// errors become notes.
Diagnostic clangError(const std::string &stderrText, const std::string &realFile,
                      const std::string &shownFile, const std::string &sourceText) {
  static const std::regex re(R"(^(.*?):(\d+):(\d+): (?:fatal )?error: (.*)$)");
  std::vector<Diagnostic> errs;
  size_t pos = 0;
  while (pos < stderrText.size()) {
    size_t nl = stderrText.find('\n', pos);
    std::string line =
        stderrText.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? stderrText.size() : nl + 1;
    std::smatch m;
    if (!std::regex_match(line, m, re))
      continue;
    SourceLoc loc;
    loc.file = m[1].str() == realFile ? shownFile : m[1].str();
    loc.line = uint32_t(std::stoul(m[2].str()));
    loc.col = uint32_t(std::stoul(m[3].str()));
    Diagnostic d = Diagnostic::error("c-error", m[4].str(), loc);
    if (m[1].str() == realFile)
      d.withSourceLine(sourceLineAt(sourceText, loc.line));
    errs.push_back(std::move(d));
  }
  if (errs.empty()) {
    std::string msg = stderrText.empty() ? "clang failed without a message" : stderrText;
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r'))
      msg.pop_back();
    return Diagnostic::error("c-error", "clang: " + msg, SourceLoc{shownFile, 0, 0});
  }
  Diagnostic first = errs.front();
  for (size_t i = 1; i < errs.size() && i < 8; ++i)
    first.withNote(Diagnostic::note(errs[i].message, errs[i].loc));
  return first;
}

/// The C name of a function: its DISubprogram's name, else the demangled IR name.
std::string cName(const llvm::Function &f) {
  if (const llvm::DISubprogram *sp = f.getSubprogram())
    if (!sp->getName().empty())
      return sp->getName().str();
  std::string n = llvm::demangle(f.getName().str());
  if (size_t p = n.find('('); p != std::string::npos)
    n = n.substr(0, p);
  return n;
}

SourceLoc locOfFunction(const llvm::Function &f, const KernelInfo &info) {
  if (const llvm::DISubprogram *sp = f.getSubprogram()) {
    SourceLoc l;
    l.file = info.displayFile(diPath(sp->getDirectory().str(), sp->getFilename().str()));
    l.line = sp->getLine();
    return l;
  }
  return {};
}

/// The instruction's location (an alloca's: its variable's declaration), or the
/// function's when the instruction has none.
SourceLoc bestLoc(const llvm::Instruction &inst, const KernelInfo &info) {
  SourceLoc l = locOf(inst, info);
  if (!l.known())
    if (auto *al = llvm::dyn_cast<llvm::AllocaInst>(&inst))
      for (llvm::DbgDeclareInst *dd : llvm::FindDbgDeclareUses(const_cast<llvm::AllocaInst *>(al)))
        if ((l = locOf(dd->getDebugLoc().get(), info)).known())
          break;
  return l.known() ? l : locOfFunction(*inst.getFunction(), info);
}

struct Checker {
  const KernelInfo &info;
  const std::string &sourceText;
  const std::string &shownFile;

  Diagnostic err(const std::string &id, const std::string &msg, SourceLoc loc) const {
    Diagnostic d = Diagnostic::error(id, msg, loc);
    if (loc.file == shownFile && loc.line)
      d.withSourceLine(sourceLineAt(sourceText, loc.line));
    return d;
  }
};

bool isDynamicAllocator(llvm::StringRef n) {
  static const char *names[] = {"malloc",         "calloc", "realloc",  "free",  "aligned_alloc",
                                "posix_memalign", "valloc", "memalign", "alloca"};
  for (const char *x : names)
    if (n == x)
      return true;
  return n.startswith("_Znw") || n.startswith("_Zna") || n.startswith("_Zdl") ||
         n.startswith("_Zda");
}

std::string typeName(llvm::Type *t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  t->print(os);
  return os.str();
}

/// A floating-point or over-wide integer type anywhere in `t` (arrays, structs, pointee).
llvm::Type *badType(llvm::Type *t, int depth = 0) {
  if (depth > 8 || !t)
    return nullptr;
  if (t->isFloatingPointTy())
    return t;
  if (auto *it = llvm::dyn_cast<llvm::IntegerType>(t))
    return it->getBitWidth() > 64 ? t : nullptr;
  if (auto *at = llvm::dyn_cast<llvm::ArrayType>(t))
    return badType(at->getElementType(), depth + 1);
  if (auto *vt = llvm::dyn_cast<llvm::VectorType>(t))
    return badType(vt->getElementType(), depth + 1);
  if (auto *st = llvm::dyn_cast<llvm::StructType>(t)) {
    if (st->isOpaque())
      return nullptr;
    for (llvm::Type *e : st->elements())
      if (llvm::Type *b = badType(e, depth + 1))
        return b;
  }
  return nullptr;
}

Diagnostic typeError(const Checker &c, llvm::Type *bad, SourceLoc loc) {
  if (bad->isFloatingPointTy()) {
    Diagnostic d = c.err("unsupported-construct",
                         fmt::format("floating-point type '{}' is not synthesizable",
                                     bad->isFloatTy()    ? "float"
                                     : bad->isDoubleTy() ? "double"
                                                         : typeName(bad)),
                         loc);
    d.withNote(Diagnostic::note("use the bit-exact formats of tessera/hls.h (hls::fp32, "
                                "hls::bf16, hls::fp8e4m3, hls::fp8e5m2) or hls::fixed<W, F>"));
    return d;
  }
  return c.err("unsupported-width",
               fmt::format("integer type '{}' is wider than 64 bits", typeName(bad)), loc);
}

/// Checks one function of the unoptimised module (a function the top reaches).
Status checkFunction(llvm::Function &f, const Checker &c) {
  for (llvm::Instruction &inst : llvm::instructions(f)) {
    if (llvm::isa<llvm::DbgInfoIntrinsic>(inst))
      continue;
    SourceLoc loc = bestLoc(inst, c.info);
    if (auto *ld = llvm::dyn_cast<llvm::LoadInst>(&inst)) {
      if (ld->isVolatile())
        return c.err("unsupported-construct", "volatile access is not synthesizable", loc);
      if (ld->isAtomic())
        return c.err("unsupported-construct", "atomic operation is not synthesizable", loc);
    }
    if (auto *st = llvm::dyn_cast<llvm::StoreInst>(&inst)) {
      if (st->isVolatile())
        return c.err("unsupported-construct", "volatile access is not synthesizable", loc);
      if (st->isAtomic())
        return c.err("unsupported-construct", "atomic operation is not synthesizable", loc);
    }
    if (llvm::isa<llvm::AtomicRMWInst>(inst) || llvm::isa<llvm::AtomicCmpXchgInst>(inst) ||
        llvm::isa<llvm::FenceInst>(inst))
      return c.err("unsupported-construct", "atomic operation is not synthesizable", loc);
    if (auto *al = llvm::dyn_cast<llvm::AllocaInst>(&inst)) {
      if (!llvm::isa<llvm::ConstantInt>(al->getArraySize()))
        return c.err("unsupported-construct",
                     "dynamic allocation: an array of run-time size is not synthesizable", loc);
      if (llvm::Type *b = badType(al->getAllocatedType()))
        return typeError(c, b, loc);
    }
    if (auto *cb = llvm::dyn_cast<llvm::CallBase>(&inst)) {
      if (cb->isInlineAsm())
        return c.err("unsupported-construct", "inline assembly is not synthesizable", loc);
      llvm::Function *callee = cb->getCalledFunction();
      if (!callee)
        return c.err("unsupported-construct",
                     "indirect call through a function pointer is not synthesizable", loc);
      if (isDynamicAllocator(callee->getName()))
        return c.err("unsupported-construct",
                     fmt::format("dynamic allocation ('{}') is not synthesizable", cName(*callee)),
                     loc);
      if (callee->getIntrinsicID() == llvm::Intrinsic::stacksave)
        return c.err("unsupported-construct",
                     "dynamic allocation: an array of run-time size is not synthesizable", loc);
    }
    if (llvm::Type *b = badType(inst.getType()))
      return typeError(c, b, loc);
    for (llvm::Value *op : inst.operands())
      if (!llvm::isa<llvm::BasicBlock>(op) && !llvm::isa<llvm::Function>(op))
        if (llvm::Type *b = badType(op->getType()))
          return typeError(c, b, loc);
  }
  return Status::success();
}

/// Functions the top calls, directly or not, in module order.
std::vector<llvm::Function *> reachableFrom(llvm::Function *top) {
  std::set<llvm::Function *> seen{top};
  std::vector<llvm::Function *> work{top};
  while (!work.empty()) {
    llvm::Function *f = work.back();
    work.pop_back();
    for (llvm::Instruction &inst : llvm::instructions(*f))
      if (auto *cb = llvm::dyn_cast<llvm::CallBase>(&inst))
        if (llvm::Function *g = cb->getCalledFunction())
          if (!g->isDeclaration() && seen.insert(g).second)
            work.push_back(g);
  }
  std::vector<llvm::Function *> out;
  for (llvm::Function &f : *top->getParent())
    if (seen.count(&f))
      out.push_back(&f);
  return out;
}

/// A call cycle among the functions the top reaches: `recursion` naming the functions,
/// at the call that closes the cycle.
Status checkRecursion(llvm::Function *top, const Checker &c) {
  std::vector<llvm::Function *> stack;
  std::set<llvm::Function *> done;
  std::function<Status(llvm::Function *)> dfs = [&](llvm::Function *f) -> Status {
    stack.push_back(f);
    for (llvm::Instruction &inst : llvm::instructions(*f)) {
      auto *cb = llvm::dyn_cast<llvm::CallBase>(&inst);
      llvm::Function *g = cb ? cb->getCalledFunction() : nullptr;
      if (!g || g->isDeclaration() || done.count(g))
        continue;
      auto it = std::find(stack.begin(), stack.end(), g);
      if (it != stack.end()) {
        std::string cycle;
        for (auto j = it; j != stack.end(); ++j)
          cycle += "'" + cName(**j) + "' -> ";
        cycle += "'" + cName(*g) + "'";
        std::string msg = it + 1 == stack.end()
                              ? fmt::format("recursion: '{}' calls itself", cName(*g))
                              : fmt::format("recursion: {}", cycle);
        return c.err("unsupported-construct", msg + " is not synthesizable", bestLoc(inst, c.info));
      }
      TRY(dfs(g));
    }
    stack.pop_back();
    done.insert(f);
    return Status::success();
  };
  return dfs(top);
}

std::string annotationString(llvm::Value *v) {
  llvm::StringRef s;
  if (llvm::getConstantStringInfo(v->stripPointerCasts(), s))
    return s.str();
  return "";
}

/// Collects `annotate` attributes on locals / parameters (llvm.var.annotation) and
/// globals (llvm.global.annotations), then removes them: they would keep SROA from
/// promoting the annotated variables.
void collectAnnotations(llvm::Module &m, llvm::Function *top, KernelInfo &info) {
  std::vector<llvm::Instruction *> dead;
  for (llvm::Function &f : m) {
    for (llvm::Instruction &inst : llvm::instructions(f)) {
      auto *ii = llvm::dyn_cast<llvm::IntrinsicInst>(&inst);
      if (!ii || ii->getIntrinsicID() != llvm::Intrinsic::var_annotation)
        continue;
      dead.push_back(ii);
      std::string text = annotationString(ii->getArgOperand(1));
      llvm::Value *base = ii->getArgOperand(0)->stripPointerCasts();
      for (llvm::DbgDeclareInst *dd : llvm::FindDbgDeclareUses(base)) {
        const llvm::DILocalVariable *var = dd->getVariable();
        if (&f == top && var->getArg() > 0 && var->getArg() <= info.params.size())
          info.params[var->getArg() - 1].annotations.push_back(text);
        else
          info.localAnnotations[var].push_back(text);
      }
    }
  }
  for (llvm::Instruction *i : dead) {
    if (!i->use_empty())
      i->replaceAllUsesWith(llvm::UndefValue::get(i->getType()));
    i->eraseFromParent();
  }
  if (llvm::GlobalVariable *ga = m.getGlobalVariable("llvm.global.annotations")) {
    if (auto *arr = llvm::dyn_cast_or_null<llvm::ConstantArray>(
            ga->hasInitializer() ? ga->getInitializer() : nullptr)) {
      for (llvm::Value *e : arr->operands()) {
        auto *cs = llvm::dyn_cast<llvm::ConstantStruct>(e);
        if (!cs || cs->getNumOperands() < 2)
          continue;
        llvm::Value *g = cs->getOperand(0)->stripPointerCasts();
        info.globalAnnotations[g->getName().str()].push_back(annotationString(cs->getOperand(1)));
      }
    }
    ga->eraseFromParent();
  }
}

/// Parses "tessera_depth=N".
std::optional<uint64_t> depthAnnotation(const std::vector<std::string> &annots) {
  for (const std::string &a : annots) {
    static const std::string key = "tessera_depth=";
    if (a.rfind(key, 0) == 0) {
      char *end = nullptr;
      unsigned long long v = std::strtoull(a.c_str() + key.size(), &end, 0);
      if (end && *end == 0 && v > 0)
        return v;
    }
  }
  return std::nullopt;
}

const llvm::DIType *stripTypedefs(const llvm::DIType *t) {
  while (auto *d = llvm::dyn_cast_or_null<llvm::DIDerivedType>(t)) {
    auto tag = d->getTag();
    if (tag != llvm::dwarf::DW_TAG_typedef && tag != llvm::dwarf::DW_TAG_const_type &&
        tag != llvm::dwarf::DW_TAG_volatile_type && tag != llvm::dwarf::DW_TAG_restrict_type)
      break;
    t = d->getBaseType();
  }
  return t;
}

/// Offset of 1-based line/col in text.
size_t offsetOf(const std::string &text, uint32_t line, uint32_t col) {
  size_t pos = 0;
  for (uint32_t l = 1; l < line; ++l) {
    pos = text.find('\n', pos);
    if (pos == std::string::npos)
      return std::string::npos;
    ++pos;
  }
  return col ? pos + col - 1 : pos;
}

/// The text inside the first `[...]` after the parameter name at `loc`, or "".
std::string bracketAfterName(const std::string &text, const SourceLoc &loc) {
  size_t p = offsetOf(text, loc.line, loc.col);
  if (p == std::string::npos || p >= text.size())
    return "";
  while (p < text.size() && (std::isalnum(uint8_t(text[p])) || text[p] == '_'))
    ++p;
  while (p < text.size() && std::isspace(uint8_t(text[p])))
    ++p;
  if (p >= text.size() || text[p] != '[')
    return "";
  int nest = 0;
  size_t start = p + 1;
  for (; p < text.size(); ++p) {
    if (text[p] == '[')
      ++nest;
    else if (text[p] == ']' && --nest == 0)
      return text.substr(start, p - start);
  }
  return "";
}

std::optional<uint64_t> integerLiteral(std::string s) {
  while (!s.empty() && std::isspace(uint8_t(s.back())))
    s.pop_back();
  size_t b = 0;
  while (b < s.size() && std::isspace(uint8_t(s[b])))
    ++b;
  s = s.substr(b);
  if (s.empty() || !std::isdigit(uint8_t(s[0])))
    return std::nullopt;
  char *end = nullptr;
  unsigned long long v = std::strtoull(s.c_str(), &end, 0);
  std::string rest = end;
  for (char &ch : rest)
    ch = char(std::tolower(uint8_t(ch)));
  if (!(rest.empty() || rest == "u" || rest == "l" || rest == "ul" || rest == "lu" ||
        rest == "ull" || rest == "llu" || rest == "ll"))
    return std::nullopt;
  return v;
}

/// Evaluates a constant expression of the kernel (an array bound written with a macro or
/// a constexpr) by compiling `#include "kernel"` plus a global initialised with it.
std::optional<uint64_t> evalBound(const std::string &expr, const std::string &file,
                                  const FrontEndOptions &opts, const std::string &dir) {
  std::string ext = isCFile(file) ? ".c" : ".cpp";
  std::string probe = (fs::path(dir) / ("probe" + ext)).string();
  std::string absFile = fs::absolute(file).string();
  std::string text = fmt::format("#include \"{}\"\nunsigned long long tessera_probe_value = "
                                 "(unsigned long long)({});\n",
                                 absFile, expr);
  if (!writeTextFile(probe, text).ok())
    return std::nullopt;
  std::vector<std::string> argv = baseClangArgs(probe, opts);
  std::string out = (fs::path(dir) / "probe.ll").string();
  argv.insert(argv.end(), {"-w", "-S", "-g0", probe, "-o", out});
  auto pr = runProcess(argv, ".", (fs::path(dir) / "probe").string(), 60);
  if (!pr.ok() || pr->exitCode != 0)
    return std::nullopt;
  auto ll = readTextFile(out);
  if (!ll.ok())
    return std::nullopt;
  static const std::regex re(R"(@tessera_probe_value = [^\n]*global i64 (\d+))");
  std::smatch m;
  if (!std::regex_search(*ll, m, re))
    return std::nullopt;
  return std::stoull(m[1].str());
}

/// Parameter names, types and locations from the top's debug info and dbg.declare
/// intrinsics (names are gone once mem2reg has run).
void collectParams(llvm::Function *top, KernelInfo &info) {
  info.params.assign(top->arg_size(), ParamInfo{});
  const llvm::DISubprogram *sp = top->getSubprogram();
  if (sp && sp->getType()) {
    auto types = sp->getType()->getTypeArray();
    for (unsigned i = 0; i < top->arg_size() && i + 1 < types.size(); ++i)
      info.params[i].type = types[i + 1];
  }
  for (llvm::Instruction &inst : llvm::instructions(*top))
    if (auto *dd = llvm::dyn_cast<llvm::DbgVariableIntrinsic>(&inst)) {
      const llvm::DILocalVariable *var = dd->getVariable();
      unsigned a = var->getArg();
      if (a == 0 || a > info.params.size() || !info.params[a - 1].name.empty())
        continue;
      ParamInfo &p = info.params[a - 1];
      p.name = var->getName().str();
      if (!p.type)
        p.type = var->getType();
      p.loc.file = info.displayFile(diPath(var->getDirectory().str(), var->getFilename().str()));
      p.loc.line = var->getLine();
      if (const llvm::DILocation *dl = dd->getDebugLoc().get())
        if (dl->getLine() == var->getLine())
          p.loc.col = dl->getColumn();
    }
  for (unsigned i = 0; i < info.params.size(); ++i)
    if (info.params[i].name.empty()) {
      info.params[i].name = fmt::format("arg{}", i);
      info.params[i].loc = locOfFunction(*top, info);
    }
}

/// Interface depths: `tessera_depth=N`, a reference to an array, or the declared first
/// dimension (`int a[64]`, `int a[N][16]`) read from the source text.
Status resolveDepths(llvm::Function *top, KernelInfo &info, const Checker &c,
                     const std::string &realFile, const FrontEndOptions &opts,
                     const std::string &dir) {
  for (unsigned i = 0; i < top->arg_size(); ++i) {
    if (!top->getArg(i)->getType()->isPointerTy())
      continue;
    ParamInfo &p = info.params[i];
    p.outerDepth = depthAnnotation(p.annotations);
    if (p.outerDepth)
      continue;
    const llvm::DIType *t = stripTypedefs(p.type);
    if (auto *d = llvm::dyn_cast_or_null<llvm::DIDerivedType>(t))
      if (d->getTag() == llvm::dwarf::DW_TAG_reference_type ||
          d->getTag() == llvm::dwarf::DW_TAG_rvalue_reference_type) {
        // int (&a)[64]: the pointee is the whole array; a reference to a scalar is one
        // element.
        p.outerDepth = 1;
        continue;
      }
    std::string bound;
    if (p.loc.file == c.shownFile && p.loc.line && p.loc.col)
      bound = bracketAfterName(c.sourceText, p.loc);
    // C99 `int a[static 64]` / `int a[const 64]`: the qualifiers are not part of the size.
    for (const char *q : {"static", "const", "restrict", "volatile"})
      for (size_t at; (at = bound.find(q)) != std::string::npos;)
        bound.erase(at, std::strlen(q));
    if (bound.find_first_not_of(" \t") == std::string::npos)
      bound.clear();
    if (!bound.empty()) {
      p.outerDepth = integerLiteral(bound);
      if (!p.outerDepth)
        p.outerDepth = evalBound(bound, realFile, opts, dir);
    }
    if (!p.outerDepth || *p.outerDepth == 0) {
      Diagnostic d =
          c.err("unknown-depth",
                fmt::format("the depth of interface array '{}' is unknown", p.name), p.loc);
      d.withNote(
          Diagnostic::note(fmt::format("declare it with a size ('int {}[64]') or annotate it: "
                                       "'TESSERA_DEPTH(64)' from tessera/hls.h",
                                       p.name)));
      return d;
    }
  }
  return Status::success();
}

bool hasLoopProp(llvm::MDNode *id, llvm::StringRef prefix) {
  if (!id)
    return false;
  for (unsigned i = 1; i < id->getNumOperands(); ++i)
    if (auto *n = llvm::dyn_cast<llvm::MDNode>(id->getOperand(i)))
      if (n->getNumOperands() > 0)
        if (auto *s = llvm::dyn_cast<llvm::MDString>(n->getOperand(0)))
          if (s->getString().startswith(prefix))
            return true;
  return false;
}

/// Loops without an unroll pragma get llvm.loop.unroll.disable (the pipeline unrolls only
/// on request); unroll_count(N) is copied into tessera.unroll.count, which the unroller's
/// setLoopAlreadyUnrolled keeps.
void prepareLoops(llvm::Function &f) {
  llvm::DominatorTree dt(f);
  llvm::LoopInfo li(dt);
  llvm::LLVMContext &ctx = f.getContext();
  for (llvm::Loop *l : li.getLoopsInPreorder()) {
    llvm::MDNode *old = l->getLoopID();
    llvm::SmallVector<llvm::Metadata *, 8> ops{nullptr};
    if (old)
      for (unsigned i = 1; i < old->getNumOperands(); ++i)
        ops.push_back(old->getOperand(i));
    if (!hasLoopProp(old, "llvm.loop.unroll.")) {
      ops.push_back(llvm::MDNode::get(ctx, {llvm::MDString::get(ctx, "llvm.loop.unroll.disable")}));
    } else {
      for (unsigned i = 1; old && i < old->getNumOperands(); ++i)
        if (auto *n = llvm::dyn_cast<llvm::MDNode>(old->getOperand(i)))
          if (n->getNumOperands() == 2)
            if (auto *s = llvm::dyn_cast<llvm::MDString>(n->getOperand(0)))
              if (s->getString() == "llvm.loop.unroll.count")
                ops.push_back(llvm::MDNode::get(
                    ctx, {llvm::MDString::get(ctx, "tessera.unroll.count"), n->getOperand(1)}));
    }
    llvm::MDNode *id = llvm::MDNode::getDistinct(ctx, ops);
    id->replaceOperandWith(0, id);
    l->setLoopID(id);
  }
}

/// HLS wants if-conversion wherever it is legal (predication: both sides of a branch are
/// computed and a select picks one, which lets a loop body become one block and
/// pipeline). simplifycfg's speculation limits are process-wide options; LLVM serves only
/// the HLS front end in a Tessera process, so they are raised once here.
void raiseSpeculationLimits() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto &registered = llvm::cl::getRegisteredOptions();
    for (auto [name, value] :
         {std::pair{"two-entry-phi-node-folding-threshold", "256"},
          std::pair{"phi-node-folding-threshold", "64"}, std::pair{"max-speculation-depth", "64"},
          // Keep C's int induction variables at 32 bits rather
          // than widening them to the pointer width.
          std::pair{"indvars-widen-indvars", "false"}})
      if (llvm::cl::Option *o = registered.lookup(name))
        (void)o->addOccurrence(0, name, value);
  });
}

Status runPipeline(llvm::Module &m) {
  raiseSpeculationLimits();
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb;
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm;
  if (llvm::Error e = pb.parsePassPipeline(mpm, kPipeline)) {
    std::string msg = llvm::toString(std::move(e));
    return Diagnostic::error("internal-error", "bad HLS pass pipeline: " + msg);
  }
  mpm.run(m, mam);
  return Status::success();
}

Expected<Cdfg> compileImpl(const std::string &file, const std::string &shownFile,
                           const FrontEndOptions &opts) {
  TRY_ASSIGN(std::string sourceText, readTextFile(file));
  if (opts.top.empty())
    return Diagnostic::error("unknown-top", "no top function given (--top)", SourceLoc{shownFile});
  TempDir tmp;
  if (tmp.path.empty())
    return Diagnostic::error("io-error", "cannot create a temporary directory");
  std::string bc = (fs::path(tmp.path) / "kernel.bc").string();
  std::vector<std::string> argv = baseClangArgs(file, opts);
  argv.insert(argv.end(), {"-c", file, "-o", bc});
  TRY_ASSIGN(ProcessResult pr, runProcess(argv, ".", (fs::path(tmp.path) / "clang").string(), 120));
  if (pr.exitCode == 127)
    return Diagnostic::error("tool-missing", "cannot run clang: " + argv[0]);
  if (pr.exitCode != 0 || pr.timedOut)
    return clangError(pr.err, file, shownFile, sourceText);

  llvm::LLVMContext ctx;
  llvm::SMDiagnostic smd;
  std::unique_ptr<llvm::Module> m = llvm::parseIRFile(bc, smd, ctx);
  if (!m)
    return Diagnostic::error("internal-error",
                             "cannot read clang's bitcode: " + smd.getMessage().str());

  KernelInfo info;
  info.sourceFile = file;
  std::error_code ec;
  std::string canonical = fs::weakly_canonical(fs::absolute(file), ec).string();
  auto cache = std::make_shared<std::map<std::string, std::string>>();
  info.displayFile = [file, shownFile, canonical, cache](const std::string &f) {
    auto it = cache->find(f);
    if (it != cache->end())
      return it->second;
    std::error_code ec2;
    bool same = f == file || fs::weakly_canonical(fs::absolute(f), ec2).string() == canonical;
    return (*cache)[f] = same ? shownFile : f;
  };
  Checker checker{info, sourceText, shownFile};

  // The top function.
  llvm::Function *top = nullptr;
  std::vector<llvm::Function *> overloads;
  std::vector<std::string> defined;
  for (llvm::Function &f : *m) {
    if (f.isDeclaration())
      continue;
    std::string n = cName(f);
    if (f.getName() == opts.top) { // a mangled name picks one overload
      top = &f;
      overloads = {&f};
    } else if (n == opts.top && !(top && top->getName() == opts.top)) {
      top = top ? top : &f;
      overloads.push_back(&f);
    }
    if (std::find(defined.begin(), defined.end(), n) == defined.end())
      defined.push_back(n);
  }
  if (overloads.size() > 1) {
    Diagnostic d = Diagnostic::error(
        "unknown-top",
        fmt::format("'{}' names {} overloaded functions; give the top a unique name", opts.top,
                    overloads.size()),
        locOfFunction(*overloads[1], info));
    d.withSourceLine(sourceLineAt(sourceText, d.loc.line));
    for (llvm::Function *f : overloads)
      d.withNote(
          Diagnostic::note(fmt::format("candidate '{}' (--top {})",
                                       llvm::demangle(f->getName().str()), f->getName().str()),
                           locOfFunction(*f, info)));
    return d;
  }
  if (!top) {
    Diagnostic d = Diagnostic::error(
        "unknown-top", fmt::format("no function '{}' is defined in {}", opts.top, shownFile),
        SourceLoc{shownFile});
    std::string best = closestMatch(opts.top, defined);
    if (!best.empty())
      d.withNote(Diagnostic::note(fmt::format("did you mean '{}'?", best)));
    return d;
  }

  // Checks on the code as written.
  TRY(checkRecursion(top, checker));
  std::vector<llvm::Function *> reach = reachableFrom(top);
  for (llvm::Function *f : reach)
    TRY(checkFunction(*f, checker));

  collectParams(top, info);
  collectAnnotations(*m, top, info);
  TRY(resolveDepths(top, info, checker, file, opts, tmp.path));

  // Only the top and what it calls matter: other bodies are dropped (less work for the
  // pipeline), and the top must survive globaldce even when it is `static` / `inline`.
  for (llvm::Function &f : *m)
    if (!f.isDeclaration() && std::find(reach.begin(), reach.end(), &f) == reach.end())
      f.deleteBody();
  if (top->hasLocalLinkage() || top->isDiscardableIfUnused()) {
    top->setComdat(nullptr);
    top->setLinkage(llvm::GlobalValue::ExternalLinkage);
    top->setVisibility(llvm::GlobalValue::DefaultVisibility);
  }
  // Shared functions (TESSERA_SHARED): kept as calls, converted on their own below.
  std::vector<llvm::Function *> shared;
  std::map<llvm::Function *, uint32_t> limitOf;
  std::map<llvm::Function *, KernelInfo> sharedInfo;
  for (llvm::Function *f : reach) {
    if (f == top)
      continue;
    auto an = info.globalAnnotations.find(f->getName().str());
    if (an == info.globalAnnotations.end())
      continue;
    bool isShared = false;
    uint32_t limit = 0;
    for (const std::string &a : an->second) {
      if (a == "tessera_shared")
        isShared = true;
      static const std::string key = "tessera_shared_limit=";
      if (a.rfind(key, 0) == 0) {
        char *end = nullptr;
        unsigned long v = std::strtoul(a.c_str() + key.size(), &end, 10);
        if (!end || *end || v == 0 || v > 1024)
          return checker.err("bad-attribute",
                             fmt::format("TESSERA_SHARED_LIMIT of '{}' must be a number in "
                                         "1..1024, not '{}'",
                                         cName(*f), a.substr(key.size())),
                             locOfFunction(*f, info));
        limit = static_cast<uint32_t>(v);
      }
    }
    if (!isShared)
      continue;
    shared.push_back(f);
    limitOf[f] = limit;
    KernelInfo fi;
    fi.sourceFile = info.sourceFile;
    fi.displayFile = info.displayFile;
    fi.localAnnotations = info.localAnnotations;
    collectParams(f, fi);
    sharedInfo[f] = std::move(fi);
  }
  // A shared function calls no other shared function (it is one flat datapath).
  for (llvm::Function *f : shared)
    for (llvm::Instruction &inst : llvm::instructions(*f))
      if (auto *cb = llvm::dyn_cast<llvm::CallBase>(&inst))
        if (llvm::Function *g = cb->getCalledFunction();
            g && std::find(shared.begin(), shared.end(), g) != shared.end())
          return checker.err("unsupported-construct",
                             fmt::format("the shared function '{}' calls the shared function "
                                         "'{}' (a shared function may only call functions that "
                                         "are inlined into it)",
                                         cName(*f), cName(*g)),
                             bestLoc(inst, info));
  // Inline everything else into the top (and into the shared functions); unroll only on
  // request.
  for (llvm::Function *f : reach) {
    f->removeFnAttr(llvm::Attribute::NoInline);
    f->removeFnAttr(llvm::Attribute::OptimizeNone);
    bool isShared = std::find(shared.begin(), shared.end(), f) != shared.end();
    if (isShared)
      f->addFnAttr(llvm::Attribute::NoInline);
    else if (f != top)
      f->addFnAttr(llvm::Attribute::AlwaysInline);
    prepareLoops(*f);
  }
  TRY(runPipeline(*m));

  // The shared functions the optimised top still calls, in module order.
  std::vector<Cdfg> callees;
  for (llvm::Function *f : shared) {
    bool called = false;
    for (llvm::User *u : f->users())
      if (auto *cb = llvm::dyn_cast<llvm::CallBase>(u))
        called |= cb->getFunction() == top && cb->getCalledFunction() == f;
    if (!called || f->isDeclaration())
      continue;
    KernelInfo &fi = sharedInfo.at(f);
    Expected<Cdfg> body = convertFunction(*f, fi);
    if (!body.ok()) {
      Diagnostic d = std::move(body).takeError();
      if (d.sourceLine.empty() && d.loc.file == shownFile && d.loc.line)
        d.withSourceLine(sourceLineAt(sourceText, d.loc.line));
      return d;
    }
    Cdfg &cf = *body;
    cf.name = cName(*f);
    cf.unitLimit = limitOf[f];
    std::string why;
    if (!cf.memories.empty() || !cf.streams.empty())
      why = "it takes or uses an array, a pointer or a stream (only scalar parameters and local "
            "scalars are allowed)";
    else if (!cf.ret)
      why = "it returns no value";
    else if (!cf.loops.empty())
      why = "it has a loop that was not fully unrolled";
    else if (cf.blocks.size() != 1)
      why = fmt::format("its body has {} blocks after if-conversion (it must be straight-line "
                        "code: use selects instead of branches)",
                        cf.blocks.size());
    if (!why.empty())
      return checker.err("unsupported-construct",
                         fmt::format("'{}' cannot be a shared function: {}", cf.name, why),
                         cf.loc.known() ? cf.loc : locOfFunction(*f, info));
    info.shared[f->getName().str()] = static_cast<uint32_t>(callees.size());
    callees.push_back(std::move(cf));
  }
  info.callees = &callees;

  if (!opts.dumpIrTo.empty()) {
    std::string text;
    llvm::raw_string_ostream os(text);
    m->print(os, nullptr);
    TRY(writeTextFile(opts.dumpIrTo, os.str()));
  }
  Expected<Cdfg> g = convertFunction(*top, info);
  if (!g.ok()) {
    Diagnostic d = std::move(g).takeError();
    if (d.sourceLine.empty() && d.loc.file == shownFile && d.loc.line)
      d.withSourceLine(sourceLineAt(sourceText, d.loc.line));
    return d;
  }
  g->sourceFile = fs::absolute(file).lexically_normal().string();
  g->callees = std::move(callees);
  for (Cdfg &cf : g->callees)
    cf.sourceFile = g->sourceFile;
  return g;
}

std::string cacheDir() {
  if (const char *e = std::getenv("TESSERA_CACHE"); e && *e)
    return (fs::path(e) / "hls").string();
  if (const char *h = std::getenv("HOME"); h && *h)
    return (fs::path(h) / ".cache" / "tessera" / "hls").string();
  return (fs::temp_directory_path() / "tessera-hls-cache").string();
}

} // namespace

Expected<Cdfg> compileKernel(const std::string &file, const FrontEndOptions &opts) {
  return compileImpl(file, file, opts);
}

Expected<Cdfg> compileKernelSource(const std::string &text, const std::string &name,
                                   const FrontEndOptions &opts) {
  // The source is kept (by content hash) so that Cdfg::sourceFile stays valid for the
  // native co-simulation build.
  uint64_t h = 1469598103934665603ull;
  for (char ch : text + '\0' + name) {
    h ^= uint8_t(ch);
    h *= 1099511628211ull;
  }
  std::string ext = fs::path(name).extension().string();
  if (ext.empty())
    ext = ".cpp";
  fs::path dir = fs::path(cacheDir()) / "src";
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string path = (dir / fmt::format("{:016x}{}", h, ext)).string();
  TRY(writeTextFile(path, text));
  return compileImpl(path, name, opts);
}

} // namespace tessera::hls
