//===- FromLlvm.cpp - the optimised top function (LLVM IR on iN) -> Cdfg ------===//
//
// A direct translation of the SSA form: blocks in layout order (reachable ones), phis
// first, LLVM integer instructions one-to-one onto OpKind, intrinsics the pipeline leaves
// (min / max / abs, funnel shifts, bswap, ctpop / ctlz / cttz, saturating and overflow
// arithmetic) expanded into Cdfg ops, memory intrinsics of constant size into explicit
// Load / Store sequences. Pointers never become values: every pointer instruction (GEP,
// bitcast, select and phi of pointers) is resolved where it is defined to a Memory and an
// element index computed with Mul / Shl / Add nodes in the memory's index width
// (the bits of `depth`, so that one-past-the-end pointers fit: arithmetic modulo 2^k keeps
// the low k bits of the true index, so truncating GEP indices to k bits first is exact for
// every in-range access);
// multi-dimensional arrays and structs whose fields share one integer type flatten into
// elements. Constants and scalar arguments live in the entry block. Loops come from
// LoopInfo, trip counts from ScalarEvolution, pipeline / unroll requests from the loop
// metadata FrontEnd.cpp preserved.
//
//===----------------------------------------------------------------------===//
#include "hls/FromLlvm.h"

#include <fmt/format.h>

#include <llvm/ADT/PostOrderIterator.h>
#include <llvm/ADT/Triple.h>
#include <llvm/Analysis/AssumptionCache.h>
#include <llvm/Analysis/LoopInfo.h>
#include <llvm/Analysis/ScalarEvolution.h>
#include <llvm/Analysis/TargetLibraryInfo.h>
#include <llvm/IR/CFG.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/DataLayout.h>
#include <llvm/IR/DebugInfo.h>
#include <llvm/IR/DebugInfoMetadata.h>
#include <llvm/IR/Dominators.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/InstIterator.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Operator.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

namespace tessera::hls::detail {

//===----------------------------------------------------------------------===//
// Debug-info helpers
//===----------------------------------------------------------------------===//

SourceLoc locOf(const llvm::DILocation *dl, const KernelInfo &info) {
  if (!dl || dl->getLine() == 0)
    return {};
  // Code inlined from headers (tessera/hls.h's formats, the user's own headers) is located
  // at the innermost call site in the kernel's file: `acc += x * y`, not the adder's line
  // in hls.h, is what a report in the user's terms names.
  const std::string kernel = std::filesystem::path(info.sourceFile).lexically_normal().string();
  for (const llvm::DILocation *d = dl; d; d = d->getInlinedAt()) {
    std::string p = diPath(d->getDirectory().str(), d->getFilename().str());
    if (d->getLine() != 0 && std::filesystem::path(p).lexically_normal().string() == kernel) {
      dl = d;
      break;
    }
  }
  SourceLoc l;
  std::string path = diPath(dl->getDirectory().str(), dl->getFilename().str());
  l.file = info.displayFile ? info.displayFile(path) : path;
  l.line = dl->getLine();
  l.col = dl->getColumn();
  return l;
}

SourceLoc locOf(const llvm::Instruction &inst, const KernelInfo &info) {
  return locOf(inst.getDebugLoc().get(), info);
}

namespace {

std::string scopePrefix(const llvm::DIScope *s) {
  std::string out;
  while (s) {
    if (auto *ns = llvm::dyn_cast<llvm::DINamespace>(s)) {
      if (!ns->getName().empty())
        out = ns->getName().str() + "::" + out;
    } else if (auto *ct = llvm::dyn_cast<llvm::DICompositeType>(s)) {
      if (!ct->getName().empty())
        out = ct->getName().str() + "::" + out;
    } else {
      break;
    }
    s = s->getScope();
  }
  return out;
}

std::string arrayDims(const llvm::DICompositeType *ct) {
  std::string dims;
  for (const llvm::DINode *e : ct->getElements())
    if (auto *sr = llvm::dyn_cast<llvm::DISubrange>(e)) {
      auto c = sr->getCount();
      if (auto *ci = c.dyn_cast<llvm::ConstantInt *>())
        dims += fmt::format("[{}]", ci->getSExtValue());
      else
        dims += "[]";
    }
  return dims;
}

const llvm::DICompositeType *asArray(const llvm::DIType *t) {
  auto *ct = llvm::dyn_cast_or_null<llvm::DICompositeType>(t);
  return ct && ct->getTag() == llvm::dwarf::DW_TAG_array_type ? ct : nullptr;
}

} // namespace

std::string spellType(const llvm::DIType *t) {
  if (!t)
    return "void";
  if (auto *b = llvm::dyn_cast<llvm::DIBasicType>(t))
    return b->getName().str();
  if (auto *ct = llvm::dyn_cast<llvm::DICompositeType>(t)) {
    if (ct->getTag() == llvm::dwarf::DW_TAG_array_type)
      return spellType(ct->getBaseType()) + arrayDims(ct);
    return scopePrefix(ct->getScope()) + ct->getName().str();
  }
  if (auto *d = llvm::dyn_cast<llvm::DIDerivedType>(t)) {
    const llvm::DIType *base = d->getBaseType();
    switch (d->getTag()) {
    case llvm::dwarf::DW_TAG_pointer_type:
    case llvm::dwarf::DW_TAG_reference_type:
    case llvm::dwarf::DW_TAG_rvalue_reference_type: {
      std::string sym = d->getTag() == llvm::dwarf::DW_TAG_pointer_type     ? "*"
                        : d->getTag() == llvm::dwarf::DW_TAG_reference_type ? "&"
                                                                            : "&&";
      if (auto *arr = asArray(base))
        return spellType(arr->getBaseType()) + " (" + sym + ")" + arrayDims(arr);
      return spellType(base) + " " + sym;
    }
    case llvm::dwarf::DW_TAG_const_type:
    case llvm::dwarf::DW_TAG_volatile_type: {
      std::string q = d->getTag() == llvm::dwarf::DW_TAG_const_type ? "const" : "volatile";
      auto *bd = llvm::dyn_cast_or_null<llvm::DIDerivedType>(base);
      if (bd && bd->getTag() == llvm::dwarf::DW_TAG_pointer_type)
        return spellType(base) + " " + q;
      return q + " " + spellType(base);
    }
    case llvm::dwarf::DW_TAG_restrict_type:
      return spellType(base);
    case llvm::dwarf::DW_TAG_typedef:
      return scopePrefix(d->getScope()) + d->getName().str();
    default:
      return d->getName().empty() ? spellType(base) : d->getName().str();
    }
  }
  return t->getName().str();
}

bool isSignedType(const llvm::DIType *t) {
  for (int i = 0; t && i < 16; ++i) {
    if (auto *b = llvm::dyn_cast<llvm::DIBasicType>(t)) {
      unsigned e = b->getEncoding();
      return e == llvm::dwarf::DW_ATE_signed || e == llvm::dwarf::DW_ATE_signed_char;
    }
    if (auto *d = llvm::dyn_cast<llvm::DIDerivedType>(t)) {
      t = d->getBaseType();
      continue;
    }
    if (auto *arr = asArray(t)) {
      t = arr->getBaseType();
      continue;
    }
    return false;
  }
  return false;
}

//===----------------------------------------------------------------------===//
// Conversion
//===----------------------------------------------------------------------===//

namespace {

/// The integer type every element of `t` is made of (arrays, structs of one type), or
/// null.
llvm::IntegerType *leafOf(llvm::Type *t) {
  if (auto *it = llvm::dyn_cast<llvm::IntegerType>(t))
    return it;
  if (auto *at = llvm::dyn_cast<llvm::ArrayType>(t))
    return leafOf(at->getElementType());
  if (auto *st = llvm::dyn_cast<llvm::StructType>(t)) {
    if (st->isOpaque() || st->getNumElements() == 0)
      return nullptr;
    llvm::IntegerType *l = leafOf(st->getElementType(0));
    for (llvm::Type *e : st->elements())
      if (leafOf(e) != l)
        return nullptr;
    return l;
  }
  return nullptr;
}

/// Elements of the leaf type in `t`.
uint64_t leafCount(llvm::Type *t) {
  if (t->isIntegerTy())
    return 1;
  if (auto *at = llvm::dyn_cast<llvm::ArrayType>(t))
    return at->getNumElements() * leafCount(at->getElementType());
  if (auto *st = llvm::dyn_cast<llvm::StructType>(t)) {
    uint64_t n = 0;
    for (llvm::Type *e : st->elements())
      n += leafCount(e);
    return n;
  }
  return 0;
}

uint32_t bitsFor(uint64_t maxValue) {
  uint32_t b = 1;
  while (b < 64 && (maxValue >> b) != 0)
    ++b;
  return b;
}

uint64_t mask(uint32_t w) { return w >= 64 ? ~0ull : (1ull << w) - 1; }

/// An element index into a Memory, held as a node of the memory's index width.
struct Addr {
  MemId mem = kNone;
  NodeId index = kNone;
};

class Converter {
public:
  Converter(llvm::Function &f, const KernelInfo &info)
      : f_(f), info_(info), dl_(f.getParent()->getDataLayout()) {}

  Expected<Cdfg> run();

private:
  llvm::Function &f_;
  const KernelInfo &info_;
  const llvm::DataLayout &dl_;
  Cdfg g_;

  std::vector<const llvm::BasicBlock *> order_;
  std::map<const llvm::BasicBlock *, BlockId> blockOf_;
  std::map<const llvm::Value *, NodeId> valueOf_;
  std::map<const llvm::Value *, Addr> ptrOf_;
  std::map<const llvm::Value *, std::pair<NodeId, NodeId>> pairOf_; // *.with.overflow
  std::map<const llvm::Value *, MemId> memOf_;
  std::map<const llvm::Value *, StreamId> streamOf_;
  std::map<const llvm::Value *, std::string> varName_;
  std::map<std::pair<uint32_t, uint64_t>, NodeId> consts_;
  std::map<uint32_t, NodeId> argNode_;
  std::vector<NodeId> entryPool_;
  std::vector<uint32_t> argIndexOf_; // LLVM arg -> Cdfg::args / memories index

  BlockId cur_ = 0;
  SourceLoc curLoc_;
  std::string curName_;

  Diagnostic error(const std::string &id, const std::string &msg, const llvm::Instruction *inst) {
    SourceLoc l = inst ? locOf(*inst, info_) : SourceLoc{};
    if (!l.known())
      l = g_.loc;
    return Diagnostic::error(id, msg, l);
  }

  NodeId push(Node n, bool pool) {
    NodeId id = NodeId(g_.nodes.size());
    n.block = pool ? 0 : cur_;
    g_.nodes.push_back(std::move(n));
    if (pool)
      entryPool_.push_back(id);
    else
      g_.blocks[cur_].nodes.push_back(id);
    return id;
  }
  NodeId emit(OpKind k, uint32_t width, std::vector<NodeId> ops, uint32_t attr = kNone,
              uint32_t attr2 = kNone) {
    Node n;
    n.kind = k;
    n.width = width;
    n.operands = std::move(ops);
    n.attr = attr;
    n.attr2 = attr2;
    n.loc = curLoc_;
    n.name = curName_;
    return push(std::move(n), false);
  }
  NodeId konst(uint32_t width, uint64_t v) {
    v &= mask(width);
    auto key = std::make_pair(width, v);
    if (auto it = consts_.find(key); it != consts_.end())
      return it->second;
    Node n;
    n.kind = OpKind::Const;
    n.width = width;
    n.value = v;
    return consts_[key] = push(std::move(n), true);
  }
  uint32_t widthOf(NodeId n) const { return g_.nodes[n].width; }
  NodeId bin(OpKind k, NodeId a, NodeId b) { return emit(k, widthOf(a), {a, b}); }
  NodeId cmp(OpKind k, NodeId a, NodeId b) { return emit(k, 1, {a, b}); }
  NodeId sel(NodeId c, NodeId a, NodeId b) { return emit(OpKind::Select, widthOf(a), {c, a, b}); }
  /// `v` resized to `w` bits (zero- or sign-extended, or truncated).
  NodeId resize(NodeId v, uint32_t w, bool sign) {
    uint32_t vw = widthOf(v);
    if (vw == w)
      return v;
    if (g_.nodes[v].kind == OpKind::Const) {
      uint64_t x = g_.nodes[v].value;
      if (sign && vw < 64 && (x >> (vw - 1)) & 1)
        x |= ~mask(vw);
      return konst(w, x);
    }
    const Node &nv = g_.nodes[v];
    if (vw > w && (nv.kind == OpKind::ZExt || nv.kind == OpKind::SExt)) {
      // trunc(ext(u)): u itself, truncated or extended less.
      NodeId u = nv.operands[0];
      if (widthOf(u) >= w)
        return resize(u, w, sign);
      return emit(nv.kind, w, {u});
    }
    if (vw > w)
      return emit(OpKind::Trunc, w, {v});
    return emit(sign ? OpKind::SExt : OpKind::ZExt, w, {v});
  }

  Expected<uint32_t> intWidth(llvm::Type *t, const llvm::Instruction *inst) {
    auto *it = llvm::dyn_cast<llvm::IntegerType>(t);
    if (!it) {
      std::string s;
      llvm::raw_string_ostream os(s);
      t->print(os);
      if (t->isFloatingPointTy())
        return error("unsupported-construct",
                     fmt::format("floating-point type '{}' is not synthesizable", os.str()), inst);
      return error("unsupported-construct",
                   fmt::format("values of type '{}' are not supported", os.str()), inst);
    }
    if (it->getBitWidth() > 64)
      return error("unsupported-width",
                   fmt::format("integer type 'i{}' is wider than 64 bits", it->getBitWidth()),
                   inst);
    return it->getBitWidth();
  }

  Status checkInt(llvm::Type *t, const llvm::Instruction *inst) {
    auto w = intWidth(t, inst);
    if (!w.ok())
      return w.error();
    return Status::success();
  }
  Expected<NodeId> val(const llvm::Value *v, const llvm::Instruction *user);
  Expected<NodeId> argNode(const llvm::Argument *a);
  Expected<Addr> addrOf(const llvm::Value *p, const llvm::Instruction *user);
  Expected<MemId> memoryFor(const llvm::Value *base, const llvm::Instruction *user);
  Expected<Addr> resolveGep(const llvm::GEPOperator *gep, const llvm::Instruction *user);
  Expected<const llvm::Value *> baseObject(const llvm::Value *p, const llvm::Instruction *user);
  /// Wide enough for every index and the one-past-the-end index (`p != end`).
  uint32_t idxWidth(MemId m) const { return bitsFor(g_.memories[m].depth); }
  NodeId addIndex(NodeId idx, uint64_t k) {
    if (k == 0)
      return idx;
    return bin(OpKind::Add, idx, konst(widthOf(idx), k));
  }

  Status setupInterface();
  Status convertBlock(const llvm::BasicBlock &bb);
  Status convertInst(const llvm::Instruction &inst);
  Status convertCall(const llvm::CallBase &call);
  Status convertMemIntrinsic(const llvm::MemIntrinsic &mi);
  Status convertLoops();
  Status applyAnnotations(Memory &m, const std::vector<std::string> &annots);
  void dropUnusedConstants();
};

/// Removes constants nothing refers to (address bases folded away, pool entries of
/// expansions) and renumbers the nodes densely.
void Converter::dropUnusedConstants() {
  std::vector<bool> used(g_.nodes.size(), false);
  for (const Node &n : g_.nodes)
    for (NodeId o : n.operands)
      used[o] = true;
  std::vector<NodeId> newId(g_.nodes.size(), kNone);
  std::vector<Node> kept;
  for (NodeId i = 0; i < g_.nodes.size(); ++i)
    if (used[i] || g_.nodes[i].kind != OpKind::Const) {
      newId[i] = NodeId(kept.size());
      kept.push_back(std::move(g_.nodes[i]));
    }
  for (Node &n : kept)
    for (NodeId &o : n.operands)
      o = newId[o];
  for (Block &b : g_.blocks) {
    std::vector<NodeId> list;
    for (NodeId n : b.nodes)
      if (newId[n] != kNone)
        list.push_back(newId[n]);
    b.nodes = std::move(list);
  }
  g_.nodes = std::move(kept);
}

/// `annotate` strings on an array: tessera_partition=cyclic|block,N / complete,
/// tessera_ports=1|2, tessera_independent (tessera_depth is read by FrontEnd.cpp). Other `tessera_` keys and
/// bad values are `bad-attribute` errors at the array; foreign annotations are left alone.
Status Converter::applyAnnotations(Memory &m, const std::vector<std::string> &annots) {
  static const std::vector<std::string> keys = {"tessera_depth", "tessera_partition",
                                                "tessera_ports", "tessera_independent"};
  for (const std::string &a : annots) {
    if (a.rfind("tessera_", 0) != 0)
      continue;
    std::string key = a.substr(0, a.find('='));
    std::string value = a.find('=') == std::string::npos ? "" : a.substr(a.find('=') + 1);
    auto bad = [&](const std::string &why) {
      return Diagnostic::error("bad-attribute", fmt::format("'{}' on '{}': {}", a, m.name, why),
                               m.loc);
    };
    auto number = [](const std::string &t, uint64_t &out) {
      char *end = nullptr;
      out = std::strtoull(t.c_str(), &end, 0);
      return !t.empty() && end && *end == 0;
    };
    if (key == "tessera_depth") {
      if (m.kind != MemKind::Interface)
        return bad("a depth is given for pointer parameters only");
    } else if (key == "tessera_partition") {
      std::string kind = value.substr(0, value.find(','));
      std::string factorText =
          value.find(',') == std::string::npos ? "" : value.substr(value.find(',') + 1);
      uint64_t factor = 0;
      if (kind == "complete") {
        m.partition = Partition::Complete;
        m.partitionFactor = m.depth;
        continue;
      }
      if (kind != "cyclic" && kind != "block") {
        Diagnostic d = bad(fmt::format("unknown partitioning '{}'", kind));
        std::string best = closestMatch(kind, {"cyclic", "block", "complete"});
        if (!best.empty())
          d.withNote(Diagnostic::note(fmt::format("did you mean '{}'?", best)));
        return d;
      }
      if (!number(factorText, factor) || factor < 1 || factor > m.depth)
        return bad(fmt::format("the factor must be a number from 1 to the depth {}", m.depth));
      m.partition = kind == "cyclic" ? Partition::Cyclic : Partition::Block;
      m.partitionFactor = uint32_t(factor);
    } else if (key == "tessera_independent") {
      if (!value.empty())
        return bad("takes no value");
      m.independent = true;
    } else if (key == "tessera_ports") {
      uint64_t ports = 0;
      if (!number(value, ports) || ports < 1 || ports > 2)
        return bad("a RAM has 1 or 2 ports");
      m.ports = uint32_t(ports);
    } else {
      Diagnostic d = bad("unknown attribute");
      std::string best = closestMatch(key, keys);
      if (!best.empty())
        d.withNote(Diagnostic::note(fmt::format("did you mean '{}'?", best)));
      return d;
    }
  }
  return Status::success();
}

namespace {

constexpr const char *kStreamRead = "__tessera_stream_read";
constexpr const char *kStreamWrite = "__tessera_stream_write";

/// How a pointer parameter is used by hls::stream's read / write (include/tessera/hls.h).
struct StreamUse {
  bool reads = false, writes = false, other = false;
  uint32_t width = 0;
  bool widthClash = false;
};

void scanStreamUses(const llvm::Value *v, StreamUse &u) {
  for (const llvm::User *us : v->users()) {
    if (llvm::isa<llvm::BitCastOperator>(us)) {
      scanStreamUses(us, u);
      continue;
    }
    if (auto *gep = llvm::dyn_cast<llvm::GEPOperator>(us); gep && gep->hasAllZeroIndices()) {
      scanStreamUses(us, u);
      continue;
    }
    if (llvm::isa<llvm::DbgInfoIntrinsic>(us))
      continue;
    auto *call = llvm::dyn_cast<llvm::CallBase>(us);
    const llvm::Function *f = call ? call->getCalledFunction() : nullptr;
    bool rd = f && f->getName() == kStreamRead, wr = f && f->getName() == kStreamWrite;
    if ((rd || wr) && call->getArgOperand(0) == v) {
      auto *c = llvm::dyn_cast<llvm::ConstantInt>(call->getArgOperand(rd ? 1 : 2));
      uint32_t w = c ? uint32_t(c->getZExtValue()) : 0;
      (rd ? u.reads : u.writes) = true;
      if (u.width && u.width != w)
        u.widthClash = true;
      u.width = w;
      continue;
    }
    u.other = true;
  }
}

bool isStreamClass(const llvm::Type *t) {
  auto *st = llvm::dyn_cast<llvm::StructType>(t);
  return st && st->hasName() && st->getName().startswith("class.hls::stream");
}

} // namespace

Status Converter::setupInterface() {
  const llvm::DISubprogram *sp = f_.getSubprogram();
  g_.name = sp && !sp->getName().empty() ? sp->getName().str() : f_.getName().str();
  if (sp)
    g_.loc = SourceLoc{info_.displayFile(diPath(sp->getDirectory().str(), sp->getFilename().str())),
                       sp->getLine(), 0};
  if (sp && sp->getType()) {
    auto types = sp->getType()->getTypeArray();
    if (types.size() >= 1 && types.size() - 1 != f_.arg_size())
      return Diagnostic::error(
          "unsupported-construct",
          fmt::format("'{}': structs passed or returned by value are not supported at the "
                      "top-level interface (use scalars, pointers or arrays)",
                      g_.name),
          g_.loc);
    if (types.size() >= 1)
      g_.retCType = spellType(types[0]);
    if (!f_.getReturnType()->isVoidTy()) {
      if (!f_.getReturnType()->isIntegerTy())
        return Diagnostic::error("unsupported-construct",
                                 fmt::format("'{}' returns a value of a type that is not an "
                                             "integer (or an integer-backed class)",
                                             g_.name),
                                 g_.loc);
      TRY_ASSIGN(uint32_t w, intWidth(f_.getReturnType(), nullptr));
      g_.ret = Arg{"return", w, types.size() >= 1 && isSignedType(types[0]), g_.loc};
    }
  } else if (!f_.getReturnType()->isVoidTy()) {
    TRY_ASSIGN(uint32_t w, intWidth(f_.getReturnType(), nullptr));
    g_.ret = Arg{"return", w, false, g_.loc};
  }
  argIndexOf_.assign(f_.arg_size(), kNone);
  for (unsigned i = 0; i < f_.arg_size(); ++i) {
    const llvm::Argument *a = f_.getArg(i);
    const ParamInfo &pi = info_.params[i];
    Param p;
    p.name = pi.name;
    p.cType = spellType(pi.type);
    if (a->hasStructRetAttr() || a->hasByValAttr())
      return Diagnostic::error("unsupported-construct",
                               fmt::format("parameter '{}' passes a struct by value", pi.name),
                               pi.loc);
    StreamUse su;
    if (a->getType()->isPointerTy())
      scanStreamUses(a, su);
    if (a->getType()->isPointerTy() &&
        (su.reads || su.writes || isStreamClass(a->getType()->getPointerElementType()))) {
      if (su.reads && su.writes)
        return Diagnostic::error(
            "unsupported-construct",
            fmt::format("stream '{}' is both read and written: a stream parameter is an input "
                        "(only read) or an output (only written)",
                        pi.name),
            pi.loc);
      if (su.other)
        return Diagnostic::error(
            "unsupported-construct",
            fmt::format("stream '{}' is used other than by read() / write()", pi.name), pi.loc);
      if (su.widthClash || su.width > 64 || (su.width == 0 && (su.reads || su.writes)))
        return Diagnostic::error("unsupported-width",
                                 fmt::format("stream '{}' has elements of an unsupported width",
                                             pi.name),
                                 pi.loc);
      Stream st;
      st.name = pi.name;
      st.width = su.width ? su.width : 1;
      st.dir = su.writes ? StreamDir::Out : StreamDir::In;
      st.argIndex = i;
      st.loc = pi.loc;
      if (st.dir == StreamDir::In && pi.outerDepth && *pi.outerDepth > 1)
        st.count = uint32_t(*pi.outerDepth);
      p.isStream = true;
      p.index = StreamId(g_.streams.size());
      p.bytes = (st.width + 7) / 8;
      streamOf_[a] = p.index;
      g_.streams.push_back(std::move(st));
    } else if (a->getType()->isPointerTy()) {
      llvm::Type *pointee = a->getType()->getPointerElementType();
      llvm::IntegerType *leaf = leafOf(pointee);
      if (!leaf || leaf->getBitWidth() > 64)
        return Diagnostic::error(
            leaf ? "unsupported-width" : "unsupported-construct",
            fmt::format("interface array '{}' has elements of a type the front end cannot map to "
                        "one integer (structs must have fields of one integer type of <= 64 bits)",
                        pi.name),
            pi.loc);
      Memory m;
      m.name = pi.name;
      m.kind = MemKind::Interface;
      m.elemWidth = leaf->getBitWidth();
      m.depth = uint32_t((pi.outerDepth ? *pi.outerDepth : 1) * leafCount(pointee));
      m.isSigned = isSignedType(pi.type);
      m.argIndex = i;
      m.loc = pi.loc;
      TRY(applyAnnotations(m, pi.annotations));
      p.isArray = true;
      p.index = MemId(g_.memories.size());
      p.bytes = uint32_t(dl_.getTypeAllocSize(leaf));
      memOf_[a] = p.index;
      g_.memories.push_back(std::move(m));
    } else {
      TRY_ASSIGN(uint32_t w, intWidth(a->getType(), nullptr));
      p.index = uint32_t(g_.args.size());
      p.bytes = uint32_t(dl_.getTypeAllocSize(a->getType()));
      g_.args.push_back(Arg{pi.name, w, isSignedType(pi.type), pi.loc});
    }
    argIndexOf_[i] = p.index;
    g_.params.push_back(std::move(p));
  }
  return Status::success();
}

Expected<NodeId> Converter::argNode(const llvm::Argument *a) {
  if (a->getType()->isPointerTy())
    return error("unsupported-construct",
                 fmt::format("pointer '{}' used as a value", info_.params[a->getArgNo()].name),
                 nullptr);
  uint32_t idx = argIndexOf_[a->getArgNo()];
  if (auto it = argNode_.find(idx); it != argNode_.end())
    return it->second;
  Node n;
  n.kind = OpKind::Arg;
  n.width = g_.args[idx].width;
  n.attr = idx;
  n.name = g_.args[idx].name;
  n.loc = g_.args[idx].loc;
  return argNode_[idx] = push(std::move(n), true);
}

Expected<NodeId> Converter::val(const llvm::Value *v, const llvm::Instruction *user) {
  if (auto it = valueOf_.find(v); it != valueOf_.end())
    return it->second;
  if (auto *ci = llvm::dyn_cast<llvm::ConstantInt>(v)) {
    TRY_ASSIGN(uint32_t w, intWidth(ci->getType(), user));
    return konst(w, ci->getZExtValue());
  }
  if (llvm::isa<llvm::UndefValue>(v)) { // undef / poison: any value will do
    TRY_ASSIGN(uint32_t w, intWidth(v->getType(), user));
    return konst(w, 0);
  }
  if (auto *a = llvm::dyn_cast<llvm::Argument>(v))
    return argNode(a);
  if (v->getType()->isPointerTy())
    return error("unsupported-construct",
                 "a pointer used as a value (pointer arithmetic, comparison or conversion) "
                 "cannot be synthesized",
                 user);
  if (llvm::isa<llvm::ConstantExpr>(v))
    return error("unsupported-construct", "a constant expression on addresses is not supported",
                 user);
  std::string s;
  llvm::raw_string_ostream os(s);
  v->print(os);
  return error("internal-error", "value not converted: " + os.str(), user);
}

Expected<const llvm::Value *> Converter::baseObject(const llvm::Value *p,
                                                    const llvm::Instruction *user) {
  std::set<const llvm::Value *> seen;
  std::vector<const llvm::Value *> work{p};
  const llvm::Value *base = nullptr;
  while (!work.empty()) {
    const llvm::Value *v = work.back();
    work.pop_back();
    if (!seen.insert(v).second)
      continue;
    if (auto *gep = llvm::dyn_cast<llvm::GEPOperator>(v))
      work.push_back(gep->getPointerOperand());
    else if (auto *bc = llvm::dyn_cast<llvm::BitCastOperator>(v))
      work.push_back(bc->getOperand(0));
    else if (auto *s = llvm::dyn_cast<llvm::SelectInst>(v)) {
      work.push_back(s->getTrueValue());
      work.push_back(s->getFalseValue());
    } else if (auto *phi = llvm::dyn_cast<llvm::PHINode>(v)) {
      for (const llvm::Value *in : phi->incoming_values())
        work.push_back(in);
    } else if (llvm::isa<llvm::Argument>(v) || llvm::isa<llvm::AllocaInst>(v) ||
               llvm::isa<llvm::GlobalVariable>(v)) {
      if (base && base != v)
        return error("unsupported-construct",
                     "a pointer that may point into different arrays cannot be synthesized", user);
      base = v;
    } else {
      return error("unsupported-construct",
                   "pointer arithmetic that cannot be resolved to an array and an index", user);
    }
  }
  if (!base)
    return error("unsupported-construct",
                 "pointer arithmetic that cannot be resolved to an array and an index", user);
  return base;
}

Expected<MemId> Converter::memoryFor(const llvm::Value *base, const llvm::Instruction *user) {
  if (auto it = memOf_.find(base); it != memOf_.end())
    return it->second;
  Memory m;
  m.kind = MemKind::Local;
  llvm::Type *t = nullptr;
  std::vector<std::string> annots;
  if (auto *al = llvm::dyn_cast<llvm::AllocaInst>(base)) {
    t = al->getAllocatedType();
    m.name = al->getName().str();
    m.loc = locOf(*al, info_);
    for (llvm::DbgVariableIntrinsic *dv :
         llvm::FindDbgAddrUses(const_cast<llvm::AllocaInst *>(al))) {
      const llvm::DILocalVariable *var = dv->getVariable();
      m.name = var->getName().str();
      m.loc =
          SourceLoc{info_.displayFile(diPath(var->getDirectory().str(), var->getFilename().str())),
                    var->getLine(), 0};
      m.isSigned = isSignedType(var->getType());
      if (auto it = info_.localAnnotations.find(var); it != info_.localAnnotations.end())
        annots = it->second;
      break;
    }
  } else if (auto *gv = llvm::dyn_cast<llvm::GlobalVariable>(base)) {
    t = gv->getValueType();
    m.name = gv->getName().str();
    if (auto it = info_.globalAnnotations.find(m.name); it != info_.globalAnnotations.end())
      annots = it->second;
    llvm::SmallVector<llvm::DIGlobalVariableExpression *, 1> gves;
    gv->getDebugInfo(gves);
    if (!gves.empty()) {
      const llvm::DIGlobalVariable *dv = gves.front()->getVariable();
      m.name = dv->getName().str();
      m.loc =
          SourceLoc{info_.displayFile(diPath(dv->getDirectory().str(), dv->getFilename().str())),
                    dv->getLine(), 0};
      m.isSigned = isSignedType(dv->getType());
    }
  } else {
    return error("internal-error", "memory base is neither a parameter nor a local", user);
  }
  llvm::IntegerType *leaf = leafOf(t);
  if (!leaf)
    return error("unsupported-construct",
                 fmt::format("array '{}' has elements of a type the front end cannot map to one "
                             "integer",
                             m.name),
                 user);
  if (leaf->getBitWidth() > 64)
    return error("unsupported-width",
                 fmt::format("array '{}' has elements wider than 64 bits", m.name), user);
  m.elemWidth = leaf->getBitWidth();
  m.depth = uint32_t(leafCount(t));
  if (auto *gv = llvm::dyn_cast<llvm::GlobalVariable>(base)) {
    m.readOnly = gv->isConstant();
    if (gv->hasInitializer() && !gv->getInitializer()->isNullValue()) {
      std::vector<uint64_t> init;
      std::function<bool(const llvm::Constant *)> flatten = [&](const llvm::Constant *c) {
        if (auto *ci = llvm::dyn_cast<llvm::ConstantInt>(c)) {
          init.push_back(ci->getZExtValue() & mask(m.elemWidth));
          return true;
        }
        if (llvm::isa<llvm::ConstantAggregateZero>(c) || llvm::isa<llvm::UndefValue>(c)) {
          init.insert(init.end(), leafCount(c->getType()), 0);
          return true;
        }
        if (auto *cds = llvm::dyn_cast<llvm::ConstantDataSequential>(c)) {
          for (unsigned i = 0; i < cds->getNumElements(); ++i)
            if (!flatten(cds->getElementAsConstant(i)))
              return false;
          return true;
        }
        if (llvm::isa<llvm::ConstantArray>(c) || llvm::isa<llvm::ConstantStruct>(c)) {
          for (const llvm::Use &op : c->operands())
            if (!flatten(llvm::cast<llvm::Constant>(op.get())))
              return false;
          return true;
        }
        return false;
      };
      if (!flatten(gv->getInitializer()))
        return error("unsupported-construct",
                     fmt::format("the initializer of '{}' is not a constant integer table", m.name),
                     user);
      m.init = std::move(init);
    }
  }
  MemId id = MemId(g_.memories.size());
  TRY(applyAnnotations(m, annots));
  g_.memories.push_back(std::move(m));
  memOf_[base] = id;
  return id;
}

Expected<Addr> Converter::resolveGep(const llvm::GEPOperator *gep, const llvm::Instruction *user) {
  TRY_ASSIGN(Addr a, addrOf(gep->getPointerOperand(), user));
  const Memory &mem = g_.memories[a.mem];
  uint32_t iw = idxWidth(a.mem);
  uint64_t elemBytes = std::max<uint64_t>(1, (mem.elemWidth + 7) / 8);
  llvm::Type *t = gep->getSourceElementType();
  NodeId idx = a.index;
  bool first = true;
  for (auto it = gep->idx_begin(); it != gep->idx_end(); ++it) {
    const llvm::Value *iv = it->get();
    if (!first) {
      if (auto *st = llvm::dyn_cast<llvm::StructType>(t)) {
        unsigned field = unsigned(llvm::cast<llvm::ConstantInt>(iv)->getZExtValue());
        uint64_t off = 0;
        for (unsigned k = 0; k < field; ++k)
          off += leafCount(st->getElementType(k));
        idx = addIndex(idx, off);
        t = st->getElementType(field);
        continue;
      }
      if (auto *at = llvm::dyn_cast<llvm::ArrayType>(t))
        t = at->getElementType();
      else
        return error("unsupported-construct", "indexing into a vector is not supported", user);
    }
    first = false;
    llvm::IntegerType *leaf = leafOf(t);
    uint64_t stride;
    if (leaf && leaf->getBitWidth() == mem.elemWidth) {
      stride = leafCount(t);
    } else {
      // A byte view (i8 GEPs instcombine makes for memset / memcpy offsets): constant
      // offsets that are whole elements only.
      auto *ci = llvm::dyn_cast<llvm::ConstantInt>(iv);
      uint64_t bytes = dl_.getTypeAllocSize(t);
      if (!ci || (ci->getSExtValue() * int64_t(bytes)) % int64_t(elemBytes) != 0)
        return error("unsupported-construct",
                     fmt::format("pointer arithmetic on '{}' that does not step by whole "
                                 "elements",
                                 mem.name),
                     user);
      idx = addIndex(idx, uint64_t(ci->getSExtValue() * int64_t(bytes) / int64_t(elemBytes)));
      continue;
    }
    if (auto *ci = llvm::dyn_cast<llvm::ConstantInt>(iv)) {
      idx = addIndex(idx, uint64_t(ci->getSExtValue()) * stride);
      continue;
    }
    TRY_ASSIGN(NodeId v, val(iv, user));
    NodeId term = resize(v, iw, /*sign=*/true);
    if (stride != 1) {
      if ((stride & (stride - 1)) == 0) {
        uint32_t sh = 0;
        while ((1ull << sh) != stride)
          ++sh;
        term = bin(OpKind::Shl, term, konst(iw, sh));
      } else {
        term = bin(OpKind::Mul, term, konst(iw, stride));
      }
    }
    idx = (g_.nodes[idx].kind == OpKind::Const && g_.nodes[idx].value == 0)
              ? term
              : bin(OpKind::Add, idx, term);
  }
  return Addr{a.mem, idx};
}

Expected<Addr> Converter::addrOf(const llvm::Value *p, const llvm::Instruction *user) {
  if (auto it = ptrOf_.find(p); it != ptrOf_.end())
    return it->second;
  if (llvm::isa<llvm::Argument>(p) || llvm::isa<llvm::AllocaInst>(p) ||
      llvm::isa<llvm::GlobalVariable>(p)) {
    TRY_ASSIGN(MemId m, memoryFor(p, user));
    return Addr{m, konst(idxWidth(m), 0)};
  }
  if (auto *gep = llvm::dyn_cast<llvm::GEPOperator>(p)) {
    TRY_ASSIGN(Addr a, resolveGep(gep, user));
    if (llvm::isa<llvm::Instruction>(p))
      ptrOf_[p] = a;
    return a;
  }
  if (auto *bc = llvm::dyn_cast<llvm::BitCastOperator>(p))
    return addrOf(bc->getOperand(0), user);
  return error("unsupported-construct",
               "pointer arithmetic that cannot be resolved to an array and an index", user);
}

Status Converter::convertBlock(const llvm::BasicBlock &bb) {
  cur_ = blockOf_.at(&bb);
  for (const llvm::Instruction &inst : bb) {
    if (llvm::isa<llvm::PHINode>(inst))
      continue; // created up front
    TRY(convertInst(inst));
  }
  return Status::success();
}

Status Converter::convertInst(const llvm::Instruction &inst) {
  curLoc_ = locOf(inst, info_);
  auto vn = varName_.find(&inst);
  curName_ = vn != varName_.end() ? vn->second : "";
  const llvm::Instruction *I = &inst;
  auto def = [&](NodeId n) { valueOf_[I] = n; };

  if (auto *bo = llvm::dyn_cast<llvm::BinaryOperator>(I)) {
    TRY_ASSIGN(uint32_t w, intWidth(bo->getType(), I));
    TRY_ASSIGN(NodeId a, val(bo->getOperand(0), I));
    TRY_ASSIGN(NodeId b, val(bo->getOperand(1), I));
    OpKind k;
    switch (bo->getOpcode()) {
    case llvm::Instruction::Add:
      k = OpKind::Add;
      break;
    case llvm::Instruction::Sub:
      k = OpKind::Sub;
      break;
    case llvm::Instruction::Mul:
      k = OpKind::Mul;
      break;
    case llvm::Instruction::UDiv:
      k = OpKind::DivU;
      break;
    case llvm::Instruction::SDiv:
      k = OpKind::DivS;
      break;
    case llvm::Instruction::URem:
      k = OpKind::RemU;
      break;
    case llvm::Instruction::SRem:
      k = OpKind::RemS;
      break;
    case llvm::Instruction::And:
      k = OpKind::And;
      break;
    case llvm::Instruction::Or:
      k = OpKind::Or;
      break;
    case llvm::Instruction::Xor:
      k = OpKind::Xor;
      break;
    case llvm::Instruction::Shl:
      k = OpKind::Shl;
      break;
    case llvm::Instruction::LShr:
      k = OpKind::ShrU;
      break;
    case llvm::Instruction::AShr:
      k = OpKind::ShrS;
      break;
    default:
      return error("unsupported-construct",
                   fmt::format("'{}' is not synthesizable", bo->getOpcodeName()), I);
    }
    def(emit(k, w, {a, b}));
    return Status::success();
  }
  if (auto *ic = llvm::dyn_cast<llvm::ICmpInst>(I)) {
    NodeId a, b;
    if (ic->getOperand(0)->getType()->isPointerTy()) {
      // Pointers into one array (C++ array-constructor loops, `p != end`): compare the
      // element indices.
      auto pa = addrOf(ic->getOperand(0), I);
      auto pb = addrOf(ic->getOperand(1), I);
      if (!pa.ok() || !pb.ok() || pa->mem != pb->mem)
        return error("unsupported-construct",
                     "comparison of pointers that do not point into one array", I);
      a = pa->index;
      b = pb->index;
    } else {
      TRY(checkInt(ic->getOperand(0)->getType(), I));
      TRY_ASSIGN(a, val(ic->getOperand(0), I));
      TRY_ASSIGN(b, val(ic->getOperand(1), I));
    }
    OpKind k;
    switch (ic->getPredicate()) {
    case llvm::CmpInst::ICMP_EQ:
      k = OpKind::Eq;
      break;
    case llvm::CmpInst::ICMP_NE:
      k = OpKind::Ne;
      break;
    case llvm::CmpInst::ICMP_ULT:
      k = OpKind::LtU;
      break;
    case llvm::CmpInst::ICMP_SLT:
      k = OpKind::LtS;
      break;
    case llvm::CmpInst::ICMP_ULE:
      k = OpKind::LeU;
      break;
    case llvm::CmpInst::ICMP_SLE:
      k = OpKind::LeS;
      break;
    case llvm::CmpInst::ICMP_UGT:
      k = OpKind::GtU;
      break;
    case llvm::CmpInst::ICMP_SGT:
      k = OpKind::GtS;
      break;
    case llvm::CmpInst::ICMP_UGE:
      k = OpKind::GeU;
      break;
    case llvm::CmpInst::ICMP_SGE:
      k = OpKind::GeS;
      break;
    default:
      return error("unsupported-construct", "unknown integer comparison", I);
    }
    def(emit(k, 1, {a, b}));
    return Status::success();
  }
  if (auto *si = llvm::dyn_cast<llvm::SelectInst>(I)) {
    TRY_ASSIGN(NodeId c, val(si->getCondition(), I));
    if (si->getType()->isPointerTy()) {
      TRY_ASSIGN(Addr a, addrOf(si->getTrueValue(), I));
      TRY_ASSIGN(Addr b, addrOf(si->getFalseValue(), I));
      if (a.mem != b.mem)
        return error("unsupported-construct",
                     "a pointer that may point into different arrays cannot be synthesized", I);
      ptrOf_[I] = Addr{a.mem, sel(c, a.index, b.index)};
      return Status::success();
    }
    TRY_ASSIGN(uint32_t w, intWidth(si->getType(), I));
    TRY_ASSIGN(NodeId a, val(si->getTrueValue(), I));
    TRY_ASSIGN(NodeId b, val(si->getFalseValue(), I));
    def(emit(OpKind::Select, w, {c, a, b}));
    return Status::success();
  }
  if (llvm::isa<llvm::ZExtInst>(I) || llvm::isa<llvm::SExtInst>(I) ||
      llvm::isa<llvm::TruncInst>(I)) {
    TRY_ASSIGN(uint32_t w, intWidth(I->getType(), I));
    TRY(checkInt(I->getOperand(0)->getType(), I));
    TRY_ASSIGN(NodeId a, val(I->getOperand(0), I));
    OpKind k = llvm::isa<llvm::ZExtInst>(I)   ? OpKind::ZExt
               : llvm::isa<llvm::SExtInst>(I) ? OpKind::SExt
                                              : OpKind::Trunc;
    def(emit(k, w, {a}));
    return Status::success();
  }
  if (auto *fr = llvm::dyn_cast<llvm::FreezeInst>(I)) {
    if (fr->getType()->isPointerTy()) {
      TRY_ASSIGN(Addr a, addrOf(fr->getOperand(0), I));
      ptrOf_[I] = a;
      return Status::success();
    }
    TRY_ASSIGN(NodeId a, val(fr->getOperand(0), I));
    def(a);
    return Status::success();
  }
  if (llvm::isa<llvm::GetElementPtrInst>(I) ||
      (llvm::isa<llvm::BitCastInst>(I) && I->getType()->isPointerTy())) {
    // The address of a stream parameter (what hls::stream's read / write pass on) is
    // no memory address: the stream calls resolve it themselves.
    if (streamOf_.count(I->stripPointerCasts()))
      return Status::success();
    TRY_ASSIGN(Addr a, addrOf(I, I));
    ptrOf_[I] = a;
    return Status::success();
  }
  if (llvm::isa<llvm::AllocaInst>(I))
    return Status::success(); // a memory, created on first use
  if (auto *ld = llvm::dyn_cast<llvm::LoadInst>(I)) {
    TRY_ASSIGN(Addr a, addrOf(ld->getPointerOperand(), I));
    if (ld->getType()->isPointerTy())
      return error("unsupported-construct", "arrays of pointers are not synthesizable", I);
    TRY_ASSIGN(uint32_t w, intWidth(ld->getType(), I));
    if (w != g_.memories[a.mem].elemWidth)
      return error("unsupported-construct",
                   fmt::format("a {}-bit access to '{}', an array of {}-bit elements "
                               "(reinterpreting memory is not supported)",
                               w, g_.memories[a.mem].name, g_.memories[a.mem].elemWidth),
                   I);
    def(emit(OpKind::Load, w, {a.index}, a.mem));
    return Status::success();
  }
  if (auto *st = llvm::dyn_cast<llvm::StoreInst>(I)) {
    TRY_ASSIGN(Addr a, addrOf(st->getPointerOperand(), I));
    if (st->getValueOperand()->getType()->isPointerTy())
      return error("unsupported-construct", "storing a pointer is not synthesizable", I);
    TRY_ASSIGN(uint32_t w, intWidth(st->getValueOperand()->getType(), I));
    if (w != g_.memories[a.mem].elemWidth)
      return error("unsupported-construct",
                   fmt::format("a {}-bit access to '{}', an array of {}-bit elements "
                               "(reinterpreting memory is not supported)",
                               w, g_.memories[a.mem].name, g_.memories[a.mem].elemWidth),
                   I);
    TRY_ASSIGN(NodeId v, val(st->getValueOperand(), I));
    emit(OpKind::Store, 0, {a.index, v}, a.mem);
    return Status::success();
  }
  if (auto *ev = llvm::dyn_cast<llvm::ExtractValueInst>(I)) {
    auto it = pairOf_.find(ev->getAggregateOperand());
    if (it == pairOf_.end() || ev->getNumIndices() != 1 || ev->getIndices()[0] > 1)
      return error("unsupported-construct", "aggregate values are not supported", I);
    def(ev->getIndices()[0] == 0 ? it->second.first : it->second.second);
    return Status::success();
  }
  if (auto *call = llvm::dyn_cast<llvm::CallBase>(I))
    return convertCall(*call);
  if (auto *br = llvm::dyn_cast<llvm::BranchInst>(I)) {
    Block &blk = g_.blocks[cur_];
    if (br->isUnconditional() || br->getSuccessor(0) == br->getSuccessor(1)) {
      BlockId t = blockOf_.at(br->getSuccessor(0));
      emit(OpKind::Br, 0, {}, t);
      blk.succs = {t};
    } else {
      TRY_ASSIGN(NodeId c, val(br->getCondition(), I));
      BlockId t = blockOf_.at(br->getSuccessor(0)), e = blockOf_.at(br->getSuccessor(1));
      emit(OpKind::CondBr, 0, {c}, t, e);
      g_.blocks[cur_].succs = {t, e};
    }
    return Status::success();
  }
  if (auto *ret = llvm::dyn_cast<llvm::ReturnInst>(I)) {
    if (ret->getReturnValue()) {
      TRY_ASSIGN(NodeId v, val(ret->getReturnValue(), I));
      emit(OpKind::Ret, 0, {v});
    } else {
      emit(OpKind::Ret, 0, {});
    }
    return Status::success();
  }
  if (llvm::isa<llvm::UnreachableInst>(I)) {
    // Undefined behaviour in C: end the kernel.
    if (g_.ret)
      emit(OpKind::Ret, 0, {konst(g_.ret->width, 0)});
    else
      emit(OpKind::Ret, 0, {});
    return Status::success();
  }
  if (llvm::isa<llvm::PtrToIntInst>(I) || llvm::isa<llvm::IntToPtrInst>(I))
    return error("unsupported-construct",
                 "converting between pointers and integers is not synthesizable", I);
  if (I->getType()->isFloatingPointTy() || llvm::isa<llvm::FPMathOperator>(I))
    return error("unsupported-construct",
                 "floating-point arithmetic is not synthesizable (use tessera/hls.h's formats)", I);
  return error("unsupported-construct",
               fmt::format("'{}' instructions are not synthesizable", I->getOpcodeName()), I);
}

Status Converter::convertMemIntrinsic(const llvm::MemIntrinsic &mi) {
  const llvm::Instruction *I = &mi;
  auto *len = llvm::dyn_cast<llvm::ConstantInt>(mi.getLength());
  if (!len)
    return error("unsupported-construct",
                 fmt::format("'{}' of a run-time size is not synthesizable",
                             llvm::isa<llvm::MemSetInst>(mi) ? "memset" : "memcpy"),
                 I);
  TRY_ASSIGN(Addr dst, addrOf(mi.getRawDest(), I));
  const Memory &dm = g_.memories[dst.mem];
  uint64_t elemBytes = std::max<uint64_t>(1, (dm.elemWidth + 7) / 8);
  uint64_t bytes = len->getZExtValue();
  if (bytes % elemBytes != 0)
    return error("unsupported-construct",
                 fmt::format("'{}' of {} bytes on '{}' covers part of an element",
                             llvm::isa<llvm::MemSetInst>(mi) ? "memset" : "memcpy", bytes, dm.name),
                 I);
  uint64_t count = bytes / elemBytes;
  if (count > 4096)
    return error("unsupported-construct",
                 fmt::format("a memory copy / fill of {} elements is too large to expand", count),
                 I);
  if (auto *ms = llvm::dyn_cast<llvm::MemSetInst>(&mi)) {
    auto *v = llvm::dyn_cast<llvm::ConstantInt>(ms->getValue());
    if (!v)
      return error("unsupported-construct", "memset with a run-time value is not supported", I);
    uint64_t byte = v->getZExtValue() & 0xff, fill = 0;
    for (uint64_t b = 0; b < elemBytes; ++b)
      fill |= byte << (8 * b);
    NodeId value = konst(dm.elemWidth, fill);
    for (uint64_t i = 0; i < count; ++i)
      emit(OpKind::Store, 0, {addIndex(dst.index, i), value}, dst.mem);
    return Status::success();
  }
  auto *mt = llvm::cast<llvm::MemTransferInst>(&mi);
  TRY_ASSIGN(Addr src, addrOf(mt->getRawSource(), I));
  const Memory &sm = g_.memories[src.mem];
  if (sm.elemWidth != dm.elemWidth)
    return error("unsupported-construct",
                 fmt::format("memcpy between '{}' and '{}', arrays of different element types",
                             sm.name, dm.name),
                 I);
  std::vector<NodeId> loaded; // all loads first: memmove semantics as well
  for (uint64_t i = 0; i < count; ++i)
    loaded.push_back(emit(OpKind::Load, sm.elemWidth, {addIndex(src.index, i)}, src.mem));
  for (uint64_t i = 0; i < count; ++i)
    emit(OpKind::Store, 0, {addIndex(dst.index, i), loaded[i]}, dst.mem);
  return Status::success();
}

Status Converter::convertCall(const llvm::CallBase &call) {
  const llvm::Instruction *I = &call;
  auto def = [&](NodeId n) { valueOf_[I] = n; };
  llvm::Function *callee = call.getCalledFunction();
  if (!callee)
    return error("unsupported-construct",
                 "indirect call through a function pointer is not synthesizable", I);
  if (auto *mi = llvm::dyn_cast<llvm::MemIntrinsic>(&call))
    return convertMemIntrinsic(*mi);
  if (callee->getName() == kStreamRead || callee->getName() == kStreamWrite) {
    bool rd = callee->getName() == kStreamRead;
    auto it = streamOf_.find(call.getArgOperand(0)->stripPointerCasts());
    if (it == streamOf_.end())
      return error("unsupported-construct",
                   "a stream access that does not name a stream parameter of the top function "
                   "(local hls::stream objects are not supported)",
                   I);
    const Stream &st = g_.streams[it->second];
    if (rd) {
      NodeId r = emit(OpKind::StreamRead, st.width, {}, it->second);
      def(resize(r, 64, false));
      return Status::success();
    }
    TRY_ASSIGN(NodeId v, val(call.getArgOperand(1), I));
    emit(OpKind::StreamWrite, 0, {resize(v, st.width, false)}, it->second);
    return Status::success();
  }
  if (auto sh = info_.shared.find(callee->getName().str());
      sh != info_.shared.end() && info_.callees && sh->second < info_.callees->size()) {
    // A shared function: one Call node (its body is Cdfg::callees[attr]).
    const Cdfg &f = (*info_.callees)[sh->second];
    if (call.arg_size() != f.args.size() || !f.ret)
      return error("unsupported-construct",
                   fmt::format("call to the shared function '{}' with {} arguments for {} "
                               "scalar parameters",
                               f.name, call.arg_size(), f.args.size()),
                   I);
    std::vector<NodeId> ops;
    for (unsigned i = 0; i < call.arg_size(); ++i) {
      TRY_ASSIGN(NodeId a, val(call.getArgOperand(i), I));
      if (widthOf(a) != f.args[i].width)
        return error("unsupported-construct",
                     fmt::format("argument {} of the call to '{}' has {} bits, the parameter {}",
                                 i + 1, f.name, widthOf(a), f.args[i].width),
                     I);
      ops.push_back(a);
    }
    def(emit(OpKind::Call, f.ret->width, std::move(ops), sh->second));
    return Status::success();
  }
  llvm::Intrinsic::ID id = callee->getIntrinsicID();
  auto arg = [&](unsigned i) { return val(call.getArgOperand(i), I); };
  switch (id) {
  case llvm::Intrinsic::dbg_declare:
  case llvm::Intrinsic::dbg_value:
  case llvm::Intrinsic::dbg_label:
  case llvm::Intrinsic::lifetime_start:
  case llvm::Intrinsic::lifetime_end:
  case llvm::Intrinsic::assume:
  case llvm::Intrinsic::experimental_noalias_scope_decl:
  case llvm::Intrinsic::invariant_start:
  case llvm::Intrinsic::invariant_end:
  case llvm::Intrinsic::var_annotation:
  case llvm::Intrinsic::donothing:
  case llvm::Intrinsic::sideeffect:
    return Status::success();
  case llvm::Intrinsic::expect: {
    TRY_ASSIGN(NodeId a, arg(0));
    def(a);
    return Status::success();
  }
  case llvm::Intrinsic::umin:
  case llvm::Intrinsic::umax:
  case llvm::Intrinsic::smin:
  case llvm::Intrinsic::smax: {
    TRY(checkInt(call.getType(), I));
    TRY_ASSIGN(NodeId a, arg(0));
    TRY_ASSIGN(NodeId b, arg(1));
    OpKind k = id == llvm::Intrinsic::umin   ? OpKind::LtU
               : id == llvm::Intrinsic::umax ? OpKind::GtU
               : id == llvm::Intrinsic::smin ? OpKind::LtS
                                             : OpKind::GtS;
    def(sel(cmp(k, a, b), a, b));
    return Status::success();
  }
  case llvm::Intrinsic::abs: {
    TRY(checkInt(call.getType(), I));
    TRY_ASSIGN(NodeId a, arg(0));
    uint32_t w = widthOf(a);
    NodeId neg = bin(OpKind::Sub, konst(w, 0), a);
    def(sel(cmp(OpKind::LtS, a, konst(w, 0)), neg, a));
    return Status::success();
  }
  case llvm::Intrinsic::fshl:
  case llvm::Intrinsic::fshr: {
    TRY(checkInt(call.getType(), I));
    TRY_ASSIGN(NodeId a, arg(0));
    TRY_ASSIGN(NodeId b, arg(1));
    TRY_ASSIGN(NodeId s, arg(2));
    uint32_t w = widthOf(a);
    // s mod w; shifts by w give 0 (Cdfg semantics), so s = 0 needs no special case.
    NodeId sm = (w & (w - 1)) == 0 ? bin(OpKind::And, s, konst(w, w - 1))
                                   : bin(OpKind::RemU, s, konst(w, w));
    NodeId inv = bin(OpKind::Sub, konst(w, w), sm);
    if (id == llvm::Intrinsic::fshl)
      def(bin(OpKind::Or, bin(OpKind::Shl, a, sm), bin(OpKind::ShrU, b, inv)));
    else
      def(bin(OpKind::Or, bin(OpKind::ShrU, b, sm), bin(OpKind::Shl, a, inv)));
    return Status::success();
  }
  case llvm::Intrinsic::bswap: {
    TRY(checkInt(call.getType(), I));
    TRY_ASSIGN(NodeId a, arg(0));
    uint32_t w = widthOf(a), nb = w / 8;
    NodeId acc = kNone;
    for (uint32_t i = 0; i < nb; ++i) {
      NodeId byte = bin(OpKind::And, i ? bin(OpKind::ShrU, a, konst(w, 8 * i)) : a, konst(w, 0xff));
      uint32_t to = 8 * (nb - 1 - i);
      NodeId moved = to ? bin(OpKind::Shl, byte, konst(w, to)) : byte;
      acc = acc == kNone ? moved : bin(OpKind::Or, acc, moved);
    }
    def(acc);
    return Status::success();
  }
  case llvm::Intrinsic::bitreverse: {
    TRY(checkInt(call.getType(), I));
    TRY_ASSIGN(NodeId a, arg(0));
    uint32_t w = widthOf(a), p = 1;
    while (p < w)
      p <<= 1;
    // Swap adjacent groups of s bits for s = 1, 2, 4, ... in the next power of two width.
    NodeId x = resize(a, p, false);
    for (uint32_t sh = 1; sh < p; sh <<= 1) {
      uint64_t m = 0;
      for (uint32_t b = 0; b < p; ++b)
        if ((b / sh) % 2 == 0)
          m |= 1ull << b;
      NodeId k = konst(p, m), sk = konst(p, sh);
      x = bin(OpKind::Or, bin(OpKind::And, bin(OpKind::ShrU, x, sk), k),
              bin(OpKind::Shl, bin(OpKind::And, x, k), sk));
    }
    if (p > w)
      x = bin(OpKind::ShrU, x, konst(p, p - w));
    def(resize(x, w, false));
    return Status::success();
  }
  case llvm::Intrinsic::ctpop: {
    TRY(checkInt(call.getType(), I));
    TRY_ASSIGN(NodeId a, arg(0));
    uint32_t w = widthOf(a);
    // SWAR population count on the value zero-extended to 64 bits.
    NodeId x = resize(a, 64, false);
    auto c = [&](uint64_t v) { return konst(64, v); };
    x = bin(OpKind::Sub, x, bin(OpKind::And, bin(OpKind::ShrU, x, c(1)), c(0x5555555555555555ull)));
    x = bin(OpKind::Add, bin(OpKind::And, x, c(0x3333333333333333ull)),
            bin(OpKind::And, bin(OpKind::ShrU, x, c(2)), c(0x3333333333333333ull)));
    x = bin(OpKind::And, bin(OpKind::Add, x, bin(OpKind::ShrU, x, c(4))), c(0x0f0f0f0f0f0f0f0full));
    x = bin(OpKind::ShrU, bin(OpKind::Mul, x, c(0x0101010101010101ull)), c(56));
    def(resize(x, w, false));
    return Status::success();
  }
  case llvm::Intrinsic::ctlz:
  case llvm::Intrinsic::cttz: {
    TRY(checkInt(call.getType(), I));
    TRY_ASSIGN(NodeId a, arg(0));
    uint32_t w = widthOf(a);
    // Binary search over the value in 64 bits (top-aligned for ctlz); zero gives w.
    NodeId y = resize(a, 64, false);
    if (id == llvm::Intrinsic::ctlz && w < 64)
      y = bin(OpKind::Shl, y, konst(64, 64 - w));
    NodeId n = konst(64, 0);
    for (uint32_t s : {32u, 16u, 8u, 4u, 2u, 1u}) {
      NodeId part = id == llvm::Intrinsic::ctlz ? bin(OpKind::ShrU, y, konst(64, 64 - s))
                                                : bin(OpKind::And, y, konst(64, mask(s)));
      NodeId zero = cmp(OpKind::Eq, part, konst(64, 0));
      n = sel(zero, bin(OpKind::Add, n, konst(64, s)), n);
      NodeId shifted =
          bin(id == llvm::Intrinsic::ctlz ? OpKind::Shl : OpKind::ShrU, y, konst(64, s));
      y = sel(zero, shifted, y);
    }
    NodeId isZero = cmp(OpKind::Eq, a, konst(w, 0));
    def(sel(isZero, konst(w, w), resize(n, w, false)));
    return Status::success();
  }
  case llvm::Intrinsic::uadd_sat:
  case llvm::Intrinsic::usub_sat:
  case llvm::Intrinsic::sadd_sat:
  case llvm::Intrinsic::ssub_sat: {
    TRY(checkInt(call.getType(), I));
    TRY_ASSIGN(NodeId a, arg(0));
    TRY_ASSIGN(NodeId b, arg(1));
    uint32_t w = widthOf(a);
    NodeId zero = konst(w, 0);
    if (id == llvm::Intrinsic::uadd_sat) {
      NodeId s = bin(OpKind::Add, a, b);
      def(sel(cmp(OpKind::LtU, s, a), konst(w, mask(w)), s));
    } else if (id == llvm::Intrinsic::usub_sat) {
      def(sel(cmp(OpKind::LtU, a, b), zero, bin(OpKind::Sub, a, b)));
    } else {
      bool add = id == llvm::Intrinsic::sadd_sat;
      NodeId r = bin(add ? OpKind::Add : OpKind::Sub, a, b);
      // Overflow: add: a, b same sign, r differs; sub: a, b differ, r differs from a.
      NodeId t = add ? bin(OpKind::And, bin(OpKind::Xor, a, r), bin(OpKind::Xor, b, r))
                     : bin(OpKind::And, bin(OpKind::Xor, a, b), bin(OpKind::Xor, a, r));
      NodeId ovf = cmp(OpKind::LtS, t, zero);
      NodeId maxv = konst(w, mask(w) >> 1), minv = konst(w, 1ull << (w - 1));
      NodeId sat = sel(cmp(OpKind::LtS, a, zero), minv, maxv);
      def(sel(ovf, sat, r));
    }
    return Status::success();
  }
  case llvm::Intrinsic::uadd_with_overflow:
  case llvm::Intrinsic::usub_with_overflow:
  case llvm::Intrinsic::sadd_with_overflow:
  case llvm::Intrinsic::ssub_with_overflow:
  case llvm::Intrinsic::umul_with_overflow: {
    TRY_ASSIGN(NodeId a, arg(0));
    TRY_ASSIGN(NodeId b, arg(1));
    uint32_t w = widthOf(a);
    NodeId r, ovf;
    if (id == llvm::Intrinsic::uadd_with_overflow) {
      r = bin(OpKind::Add, a, b);
      ovf = cmp(OpKind::LtU, r, a);
    } else if (id == llvm::Intrinsic::usub_with_overflow) {
      r = bin(OpKind::Sub, a, b);
      ovf = cmp(OpKind::LtU, a, b);
    } else if (id == llvm::Intrinsic::umul_with_overflow) {
      if (w > 32)
        return error("unsupported-width",
                     "a multiplication overflow check above 32 bits is not supported", I);
      NodeId p = bin(OpKind::Mul, resize(a, 2 * w, false), resize(b, 2 * w, false));
      r = resize(p, w, false);
      ovf = cmp(OpKind::Ne, bin(OpKind::ShrU, p, konst(2 * w, w)), konst(2 * w, 0));
    } else {
      bool add = id == llvm::Intrinsic::sadd_with_overflow;
      r = bin(add ? OpKind::Add : OpKind::Sub, a, b);
      NodeId t = add ? bin(OpKind::And, bin(OpKind::Xor, a, r), bin(OpKind::Xor, b, r))
                     : bin(OpKind::And, bin(OpKind::Xor, a, b), bin(OpKind::Xor, a, r));
      ovf = cmp(OpKind::LtS, t, konst(w, 0));
    }
    pairOf_[I] = {r, ovf};
    return Status::success();
  }
  default:
    break;
  }
  std::string name = callee->getName().str();
  if (const llvm::DISubprogram *sp = callee->getSubprogram())
    name = sp->getName().str();
  if (callee->isIntrinsic())
    return error("unsupported-construct",
                 fmt::format("the intrinsic '{}' is not supported", callee->getName().str()), I);
  Diagnostic d = error("unsupported-construct",
                       fmt::format("call to '{}', which is not defined in the kernel (library "
                                   "functions are not synthesizable)",
                                   name),
                       I);
  if (name == "__assert_fail" || name == "abort" || name == "exit")
    d.withNote(Diagnostic::note("assertions and program exits have no hardware meaning: "
                                "compile the kernel with -DNDEBUG or remove them"));
  return d;
}

Status Converter::convertLoops() {
  llvm::DominatorTree dt(f_);
  llvm::LoopInfo li(dt);
  llvm::TargetLibraryInfoImpl tlii(llvm::Triple(f_.getParent()->getTargetTriple()));
  llvm::TargetLibraryInfo tli(tlii);
  llvm::AssumptionCache ac(f_);
  llvm::ScalarEvolution se(f_, tli, ac, dt, li);

  // Loops in pre-order, siblings by header block id (deterministic).
  std::vector<llvm::Loop *> loops;
  std::function<void(std::vector<llvm::Loop *>)> visit = [&](std::vector<llvm::Loop *> ls) {
    std::sort(ls.begin(), ls.end(), [&](llvm::Loop *a, llvm::Loop *b) {
      return blockOf_.at(a->getHeader()) < blockOf_.at(b->getHeader());
    });
    for (llvm::Loop *l : ls) {
      loops.push_back(l);
      visit(std::vector<llvm::Loop *>(l->begin(), l->end()));
    }
  };
  visit(std::vector<llvm::Loop *>(li.begin(), li.end()));
  std::map<const llvm::Loop *, LoopId> idOf;
  for (llvm::Loop *l : loops)
    idOf[l] = LoopId(idOf.size());
  for (llvm::Loop *l : loops) {
    Loop lp;
    lp.header = blockOf_.at(l->getHeader());
    if (llvm::BasicBlock *latch = l->getLoopLatch())
      lp.latch = blockOf_.at(latch);
    for (llvm::BasicBlock *bb : l->getBlocks())
      lp.blocks.push_back(blockOf_.at(bb));
    std::sort(lp.blocks.begin(), lp.blocks.end());
    std::stable_partition(lp.blocks.begin(), lp.blocks.end(),
                          [&](BlockId b) { return b == lp.header; });
    llvm::SmallVector<llvm::BasicBlock *, 4> exits;
    l->getUniqueExitBlocks(exits);
    for (llvm::BasicBlock *bb : exits)
      lp.exits.push_back(blockOf_.at(bb));
    std::sort(lp.exits.begin(), lp.exits.end());
    if (l->getParentLoop())
      lp.parent = idOf.at(l->getParentLoop());
    for (llvm::Loop *c : *l)
      lp.children.push_back(idOf.at(c));
    std::sort(lp.children.begin(), lp.children.end());
    lp.depth = l->getLoopDepth();
    if (unsigned tc = se.getSmallConstantTripCount(l))
      lp.tripCount = tc;
    lp.loc = g_.blocks[lp.header].loc;
    if (llvm::MDNode *id = l->getLoopID()) {
      bool disabled = false, unrollDisabled = false, countLeft = false;
      uint32_t ii = 0, marked = 0;
      bool locSet = false;
      for (unsigned i = 1; i < id->getNumOperands(); ++i) {
        const llvm::Metadata *op = id->getOperand(i);
        if (auto *dl = llvm::dyn_cast<llvm::DILocation>(op)) {
          if (!locSet)
            lp.loc = locOf(dl, info_);
          locSet = true;
          continue;
        }
        auto *n = llvm::dyn_cast<llvm::MDNode>(op);
        if (!n || n->getNumOperands() == 0)
          continue;
        auto *s = llvm::dyn_cast<llvm::MDString>(n->getOperand(0));
        if (!s)
          continue;
        auto intOp = [&]() -> uint32_t {
          if (n->getNumOperands() < 2)
            return 0;
          if (auto *c = llvm::mdconst::dyn_extract<llvm::ConstantInt>(n->getOperand(1)))
            return uint32_t(c->getZExtValue());
          return 0;
        };
        llvm::StringRef k = s->getString();
        if (k == "llvm.loop.pipeline.initiationinterval")
          ii = intOp();
        else if (k == "llvm.loop.pipeline.disable")
          disabled = intOp() != 0 || n->getNumOperands() == 1;
        else if (k == "llvm.loop.unroll.disable")
          unrollDisabled = true;
        else if (k == "llvm.loop.unroll.count")
          countLeft = true;
        else if (k == "tessera.unroll.count")
          marked = intOp();
      }
      lp.requestedII = disabled ? 0 : ii;
      if (marked > 1 && unrollDisabled && !countLeft)
        lp.unrollCount = marked;
    }
    g_.loops.push_back(std::move(lp));
  }
  for (const llvm::BasicBlock *bb : order_)
    if (llvm::Loop *l = li.getLoopFor(bb))
      g_.blocks[blockOf_.at(bb)].loop = idOf.at(l);
  return Status::success();
}

Expected<Cdfg> Converter::run() {
  TRY(setupInterface());

  // C variable names of values (dbg.value).
  for (const llvm::Instruction &inst : llvm::instructions(f_))
    if (auto *dv = llvm::dyn_cast<llvm::DbgValueInst>(&inst))
      if (const llvm::Value *v = dv->getValue())
        if (!varName_.count(v) && dv->getVariable())
          varName_[v] = dv->getVariable()->getName().str();

  // Reachable blocks, in layout order.
  std::set<const llvm::BasicBlock *> reachable;
  llvm::ReversePostOrderTraversal<llvm::Function *> rpot(&f_);
  for (llvm::BasicBlock *bb : rpot)
    reachable.insert(bb);
  for (const llvm::BasicBlock &bb : f_)
    if (reachable.count(&bb)) {
      blockOf_[&bb] = BlockId(order_.size());
      order_.push_back(&bb);
      Block b;
      b.name = bb.hasName() ? bb.getName().str() : fmt::format("bb{}", order_.size() - 1);
      for (const llvm::Instruction &inst : bb)
        if (SourceLoc l = locOf(inst, info_); l.known()) {
          b.loc = l;
          break;
        }
      g_.blocks.push_back(std::move(b));
    }

  // Phis first (operands later), so that values flowing around back edges exist.
  std::vector<const llvm::PHINode *> phis;
  for (const llvm::BasicBlock *bb : order_) {
    cur_ = blockOf_.at(bb);
    for (const llvm::PHINode &phi : bb->phis()) {
      curLoc_ = locOf(phi, info_);
      auto vn = varName_.find(&phi);
      curName_ = vn != varName_.end() ? vn->second : "";
      if (phi.getType()->isPointerTy()) {
        TRY_ASSIGN(const llvm::Value *base, baseObject(&phi, &phi));
        TRY_ASSIGN(MemId m, memoryFor(base, &phi));
        ptrOf_[&phi] = Addr{m, emit(OpKind::Phi, idxWidth(m), {})};
      } else {
        TRY_ASSIGN(uint32_t w, intWidth(phi.getType(), &phi));
        valueOf_[&phi] = emit(OpKind::Phi, w, {});
      }
      phis.push_back(&phi);
    }
  }
  for (const llvm::BasicBlock *bb : rpot)
    TRY(convertBlock(*bb));

  // Predecessors in block order, then the phis' operands in that order. A value a phi
  // needs from a predecessor (a constant) is placed in the entry block, which dominates it.
  for (BlockId b = 0; b < g_.blocks.size(); ++b)
    for (BlockId s : g_.blocks[b].succs)
      g_.blocks[s].preds.push_back(b);
  for (const llvm::PHINode *phi : phis) {
    BlockId b = blockOf_.at(phi->getParent());
    bool isPtr = phi->getType()->isPointerTy();
    NodeId pn = isPtr ? ptrOf_.at(phi).index : valueOf_.at(phi);
    for (BlockId p : g_.blocks[b].preds) {
      const llvm::Value *in = phi->getIncomingValueForBlock(order_[p]);
      cur_ = p; // index arithmetic for a pointer operand lands in the predecessor
      curLoc_ = locOf(*phi, info_);
      NodeId v;
      if (isPtr) {
        // Operands resolved in the predecessor, before its terminator.
        Block &pb = g_.blocks[p];
        NodeId term = pb.nodes.back();
        pb.nodes.pop_back();
        auto a = addrOf(in, phi);
        pb.nodes.push_back(term);
        if (!a.ok())
          return a.error();
        if (a->mem != ptrOf_.at(phi).mem)
          return error("unsupported-construct",
                       "a pointer that may point into different arrays cannot be synthesized", phi);
        v = a->index;
      } else {
        Block &pb = g_.blocks[p];
        NodeId term = pb.nodes.back();
        pb.nodes.pop_back();
        auto x = val(in, phi);
        pb.nodes.push_back(term);
        if (!x.ok())
          return x.error();
        v = *x;
      }
      g_.nodes[pn].operands.push_back(v);
    }
  }
  // Entry pool (constants, arguments) at the head of the entry block.
  std::vector<NodeId> &entry = g_.blocks[0].nodes;
  entry.insert(entry.begin(), entryPool_.begin(), entryPool_.end());

  dropUnusedConstants();

  for (Memory &m : g_.memories) {
    m.readOnly = true;
    m.writeOnly = true;
  }
  for (const Node &n : g_.nodes) {
    if (n.kind == OpKind::Load)
      g_.memories[n.attr].writeOnly = false;
    if (n.kind == OpKind::Store)
      g_.memories[n.attr].readOnly = false;
  }
  TRY(convertLoops());
  return std::move(g_);
}

} // namespace

Expected<Cdfg> convertFunction(llvm::Function &top, const KernelInfo &info) {
  Converter c(top, info);
  return c.run();
}

} // namespace tessera::hls::detail
