//===- Program.cpp - levelized full-cycle schedule and state layout -------===//
//
// Full-cycle simulation in the style of Verilator and Essent: registers and synchronous
// memory reads are the only state, so one pass over the combinational nodes in
// topological order settles the design, and the clock edge is a second pass that copies
// next values into state.
//
//  * The combinational order is Kahn's algorithm, preferring nodes of the array group
//    being emitted, so that consecutive nodes of one group form a *segment* (one loop
//    over the group's elements in the generated code). Gathers and packs are separate
//    steps. A cycle is a design error, unless it runs through an array group (element i
//    feeding element i+1 combinationally): then that array is unrolled and the design
//    elaborated again.
//  * Edge actions read old state: synchronous reads first (read-before-write), then
//    memory writes in port order, then registers in an order where a register is updated
//    before every register whose old value it reads (shift-register chains need no
//    copies); a cycle of such reads (a swap) gets a Copy node, as do edge operands that
//    are synchronous read outputs.
//  * Layout: one arena of bytes for all state, values and memories, each value an array
//    of group-count x lanes elements of its native width (1, 2, 4, 8 bytes or whole
//    64-bit words), lanes innermost. Values the compiled engine keeps in the arena come
//    first; temporaries only the interpreter stores come last.
//
//===----------------------------------------------------------------------===//
#include "sim/Netlist.h"

#include "hw/Semantics.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <queue>

namespace tessera::sim::detail {

namespace {

/// Largest scalar segment; bigger ones are split so that generated functions stay small
/// enough for the C++ compiler.
constexpr size_t kScalarChunk = 1000;

bool isComb(const Node &n) {
  switch (n.kind) {
  case NodeKind::Gather:
  case NodeKind::Pack:
  case NodeKind::Copy:
    return true;
  case NodeKind::Alias:
    return false;
  case NodeKind::Op:
    if (n.op == hw::OpKind::MemRead)
      return !n.memSync();
    return n.op != hw::OpKind::Const && hw::isCombinational(n.op);
  }
  return false;
}

/// Kahn's algorithm over `nodes` (ids) with `deps`, preferring the group of the node last
/// emitted, and within a group the order of a depth-first post-order walk from the sinks
/// (so that a value is computed close to its uses: short live ranges in generated code).
/// `isGatherLike` nodes are emitted when the current group has nothing ready. Returns the
/// order; nodes left out are on cycles.
std::vector<uint32_t> groupedTopo(const Net &net, const std::vector<uint32_t> &nodes,
                                  const std::vector<std::vector<uint32_t>> &deps,
                                  const std::vector<uint8_t> &isGatherLike) {
  const size_t N = net.nodes.size();
  std::vector<uint32_t> indeg(N, 0);
  std::vector<std::vector<uint32_t>> users(N);
  std::vector<uint8_t> in(N, 0);
  for (uint32_t n : nodes)
    in[n] = 1;
  for (uint32_t n : nodes)
    for (uint32_t d : deps[n])
      if (in[d]) {
        ++indeg[n];
        users[d].push_back(n);
      }
  // Depth-first post-order ranks.
  std::vector<uint32_t> rank(N, UINT32_MAX);
  uint32_t next = 0;
  std::vector<std::pair<uint32_t, size_t>> stack;
  auto dfs = [&](uint32_t root) {
    if (rank[root] != UINT32_MAX)
      return;
    rank[root] = UINT32_MAX - 1; // on the stack
    stack.push_back({root, 0});
    while (!stack.empty()) {
      auto &[n, i] = stack.back();
      if (i < deps[n].size()) {
        uint32_t d = deps[n][i++];
        if (in[d] && rank[d] == UINT32_MAX) {
          rank[d] = UINT32_MAX - 1;
          stack.push_back({d, 0});
        }
        continue;
      }
      rank[n] = next++;
      stack.pop_back();
    }
  };
  for (uint32_t n : nodes)
    if (users[n].empty())
      dfs(n);
  for (uint32_t n : nodes)
    dfs(n);
  using Item = std::pair<uint32_t, uint32_t>; // rank, node
  using Heap = std::priority_queue<Item, std::vector<Item>, std::greater<Item>>;
  std::vector<Heap> ready(net.groups.size());
  Heap readyGather;
  auto push = [&](uint32_t n) {
    if (isGatherLike[n])
      readyGather.push({rank[n], n});
    else
      ready[net.nodes[n].group].push({rank[n], n});
  };
  for (uint32_t n : nodes)
    if (indeg[n] == 0)
      push(n);
  std::vector<uint32_t> order;
  order.reserve(nodes.size());
  uint32_t cg = 0;
  while (order.size() < nodes.size()) {
    uint32_t n = kNone;
    if (!ready[cg].empty()) {
      n = ready[cg].top().second;
      ready[cg].pop();
    } else if (!readyGather.empty()) {
      n = readyGather.top().second;
      readyGather.pop();
    } else {
      bool found = false;
      for (uint32_t g = 0; g < ready.size(); ++g)
        if (!ready[g].empty()) {
          cg = g;
          found = true;
          break;
        }
      if (!found)
        break;
      continue;
    }
    order.push_back(n);
    for (uint32_t u : users[n])
      if (--indeg[u] == 0)
        push(u);
  }
  return order;
}

class Scheduler {
public:
  Scheduler(Program &p, std::set<std::string> &unroll) : p_(p), net_(p.net), unroll_(unroll) {}

  Status run() {
    prepareEdge();
    chooseViews();
    TRY(scheduleComb());
    if (!unroll_.empty())
      return Status::success();
    buildEdge();
    markStored();
    layout();
    return Status::success();
  }

private:
  uint32_t makeCopy(uint32_t group, Ref src) {
    Node c;
    c.kind = NodeKind::Copy;
    c.group = group;
    c.width = net_.nodes[src.node].width;
    c.operands = {src};
    c.live = true;
    c.name = net_.nodes[src.node].name;
    return net_.addNode(std::move(c));
  }

  /// Operand indices of an edge node that are read at the clock edge.
  static std::vector<int> edgeOperands(const Node &n) {
    std::vector<int> r;
    if (n.isReg()) {
      r.push_back(1);
      if (n.regHasReset() && !n.regAsync())
        r.push_back(n.regResetIdx());
      if (n.regHasEnable())
        r.push_back(n.regEnableIdx());
    } else if (n.isSyncRead()) {
      r.push_back(n.memAddrIdx());
      if (n.memEnableIdx() >= 0)
        r.push_back(n.memEnableIdx());
    } else if (n.isOp(hw::OpKind::MemWrite)) {
      r = {1, 2, 3};
    }
    return r;
  }

  void prepareEdge() {
    // Synchronous read outputs read at the edge get copies; register-to-register reads
    // become ordering constraints.
    std::vector<std::vector<std::pair<int, uint32_t>>> reads(net_.nodes.size());
    const size_t n0 = net_.nodes.size();
    for (uint32_t i = 0; i < n0; ++i) {
      if (!net_.nodes[i].live || net_.nodes[i].kind != NodeKind::Op)
        continue;
      for (int k : edgeOperands(net_.nodes[i])) {
        Ref o = net_.nodes[i].operands[k];
        const Node &s = net_.nodes[o.node];
        const Node &n = net_.nodes[i];
        if (s.isSyncRead() ||
            (n.isReg() && s.isReg() && s.group == n.group && n.group != 0 && o.elem >= 0)) {
          uint32_t c = makeCopy(net_.nodes[i].group, o);
          net_.nodes[i].operands[k] = Ref{c, -1};
        } else if (n.isReg() && s.isReg() && o.node != i) {
          reads[i].push_back({k, o.node});
        }
      }
    }
    // Registers: R before S when R reads S. Break read cycles with copies.
    std::vector<uint32_t> regs;
    for (uint32_t i = 0; i < n0; ++i)
      if (net_.nodes[i].live && net_.nodes[i].isReg())
        regs.push_back(i);
    for (;;) {
      std::vector<std::vector<uint32_t>> deps(net_.nodes.size());
      // deps[S] = registers that must be updated before S (those reading S).
      for (uint32_t r : regs)
        for (auto [k, s] : reads[r])
          deps[s].push_back(r);
      std::vector<uint8_t> gl(net_.nodes.size(), 0);
      std::vector<uint32_t> order = groupedTopo(net_, regs, deps, gl);
      if (order.size() == regs.size()) {
        regOrder_ = std::move(order);
        break;
      }
      std::vector<uint8_t> done(net_.nodes.size(), 0);
      for (uint32_t r : order)
        done[r] = 1;
      uint32_t s = kNone;
      for (uint32_t r : regs)
        if (!done[r]) {
          s = r;
          break;
        }
      for (uint32_t r : regs) {
        if (done[r])
          continue;
        auto &rd = reads[r];
        for (size_t q = 0; q < rd.size();) {
          if (rd[q].second == s) {
            Ref o = net_.nodes[r].operands[rd[q].first];
            uint32_t c = makeCopy(net_.nodes[r].group, o);
            net_.nodes[r].operands[rd[q].first] = Ref{c, -1};
            rd.erase(rd.begin() + q);
          } else {
            ++q;
          }
        }
      }
    }
  }

  //===--------------------------------------------------------------------===//
  // Views
  //===--------------------------------------------------------------------===//

  /// The node whose storage holds n's bytes (n itself unless n is a view).
  uint32_t root(uint32_t n) const { return net_.nodes[n].view ? p_.viewOf[n] : n; }

  /// With one lane, packs of native-width array elements and byte-aligned scalar extracts
  /// need no code: their value is a range of bytes of their source's storage.
  void chooseViews() {
    const size_t N = net_.nodes.size();
    p_.viewOf.assign(N, kNone);
    p_.viewOff.assign(N, 0);
    if (p_.lanes != 1)
      return;
    // Edge operands are read while state is being updated: they must not alias state.
    std::vector<uint8_t> edgeUse(N, 0);
    for (uint32_t i = 0; i < N; ++i)
      if (net_.nodes[i].live && net_.nodes[i].kind == NodeKind::Op)
        for (int k : edgeOperands(net_.nodes[i]))
          edgeUse[net_.nodes[i].operands[k].node] = 1;
    std::vector<uint8_t> state(N, 0); // 0 unknown, 1 visiting, 2 done
    std::function<void(uint32_t)> decide = [&](uint32_t i) {
      if (state[i])
        return;
      state[i] = 1;
      Node &v = net_.nodes[i];
      if (!v.live || v.group != 0 || v.width == 0) {
        state[i] = 2;
        return;
      }
      const uint32_t eb = elemBytes(v.width);
      const bool native = v.width <= 64 ? v.width == 8 * eb : v.width % 64 == 0;
      const uint32_t align = std::min<uint32_t>(eb, 8);
      if (native && v.kind == NodeKind::Pack) {
        const Node &src = net_.nodes[v.operands[0].node];
        uint32_t seb = elemBytes(src.width);
        if (src.width <= 64 && src.width == 8 * seb && v.width == v.attr1 * src.width &&
            (uint64_t(v.attr0) * seb) % align == 0 && !(edgeUse[i] && src.isState())) {
          v.view = true;
          p_.viewOf[i] = v.operands[0].node;
          p_.viewOff[i] = uint64_t(v.attr0) * seb;
        }
      } else if (native && v.isOp(hw::OpKind::Extract) && v.attr0 % 8 == 0 &&
                 (v.attr0 / 8) % align == 0) {
        uint32_t s = v.operands[0].node;
        decide(s);
        const Node &src = net_.nodes[s];
        if (src.group == 0 && src.width > 0 && v.attr0 / 8 + eb <= elemBytes(src.width) &&
            !(edgeUse[i] && net_.nodes[root(s)].isState())) {
          v.view = true;
          p_.viewOf[i] = root(s);
          p_.viewOff[i] = (src.view ? p_.viewOff[s] : 0) + v.attr0 / 8;
        }
      }
      state[i] = 2;
    };
    for (uint32_t i = 0; i < N; ++i)
      decide(i);
  }

  Status scheduleComb() {
    const size_t N = net_.nodes.size();
    std::vector<uint32_t> comb, obs;
    std::vector<std::vector<uint32_t>> deps(N);
    std::vector<uint8_t> gl(N, 0);
    for (uint32_t i = 0; i < N; ++i) {
      const Node &n = net_.nodes[i];
      if (!n.live || !isComb(n) || n.view)
        continue;
      (n.observe ? obs : comb).push_back(i);
      gl[i] = n.kind == NodeKind::Gather || n.kind == NodeKind::Pack;
      auto add = [&](Ref r) {
        if (!r.valid())
          return;
        uint32_t d = root(r.node);
        if (isComb(net_.nodes[d]))
          deps[i].push_back(d);
      };
      for (Ref o : n.operands)
        add(o);
      if (n.kind == NodeKind::Gather) {
        for (Ref e : net_.gathers[n.attr1])
          add(e);
        std::sort(deps[i].begin(), deps[i].end());
        deps[i].erase(std::unique(deps[i].begin(), deps[i].end()), deps[i].end());
      }
    }
    p_.stepOf.assign(N, kNone);
    std::vector<uint32_t> order = groupedTopo(net_, comb, deps, gl);
    if (order.size() != comb.size())
      return reportCycle(comb, order, deps);
    appendSteps(order);
    p_.observeFrom = p_.comb.size();
    std::vector<uint32_t> obsOrder = groupedTopo(net_, obs, deps, gl);
    if (obsOrder.size() != obs.size())
      return reportCycle(obs, obsOrder, deps);
    appendSteps(obsOrder);
    p_.scheduledOps = comb.size();
    return Status::success();
  }

  void appendSteps(const std::vector<uint32_t> &order) {
    const size_t first = p_.comb.size();
    for (uint32_t n : order) {
      const Node &node = net_.nodes[n];
      if (node.kind == NodeKind::Gather || node.kind == NodeKind::Pack) {
        p_.comb.push_back(Step{
            node.kind == NodeKind::Gather ? StepKind::Gather : StepKind::Pack, node.group, {n}});
      } else if (p_.comb.size() > first && p_.comb.back().kind == StepKind::Segment &&
                 p_.comb.back().group == node.group &&
                 (node.group != 0 || p_.comb.back().nodes.size() < kScalarChunk)) {
        p_.comb.back().nodes.push_back(n);
      } else {
        p_.comb.push_back(Step{StepKind::Segment, node.group, {n}});
      }
      p_.stepOf[n] = static_cast<uint32_t>(p_.comb.size() - 1);
    }
  }

  Status reportCycle(const std::vector<uint32_t> &comb, const std::vector<uint32_t> &order,
                     const std::vector<std::vector<uint32_t>> &deps) {
    std::vector<uint8_t> left(net_.nodes.size(), 0);
    for (uint32_t n : comb)
      left[n] = 1;
    for (uint32_t n : order)
      left[n] = 0;
    uint32_t start = kNone;
    for (uint32_t n : comb)
      if (left[n]) {
        start = n;
        break;
      }
    // Walk dependencies inside the remainder until a node repeats.
    std::map<uint32_t, size_t> pos;
    std::vector<uint32_t> path;
    uint32_t cur = start;
    while (!pos.count(cur)) {
      pos[cur] = path.size();
      path.push_back(cur);
      uint32_t next = kNone;
      for (uint32_t d : deps[cur])
        if (left[d]) {
          next = d;
          break;
        }
      if (next == kNone)
        break;
      cur = next;
    }
    std::vector<uint32_t> cycle(path.begin() + (pos.count(cur) ? pos[cur] : 0), path.end());
    for (uint32_t n : cycle) {
      const Node &node = net_.nodes[n];
      uint32_t g = node.group;
      if (node.kind == NodeKind::Pack)
        g = net_.nodes[node.operands[0].node].group;
      if (g != 0)
        unroll_.insert(net_.groups[g].path);
    }
    if (!unroll_.empty())
      return Status::success();
    std::string names;
    for (size_t k = cycle.size(); k-- > 0;) {
      const Node &node = net_.nodes[cycle[k]];
      std::string nm = node.name.empty() ? std::string(hw::mnemonic(node.op)) : node.name;
      names += (names.empty() ? "" : " -> ") + nm;
    }
    return Diagnostic::error("comb-cycle", "combinational cycle: " + names);
  }

  void buildEdge() {
    auto append = [&](EdgeKind k, uint32_t n) {
      uint32_t g = net_.nodes[n].group;
      if (!p_.edge.empty() && p_.edge.back().kind == k && p_.edge.back().group == g &&
          (g != 0 || p_.edge.back().nodes.size() < kScalarChunk))
        p_.edge.back().nodes.push_back(n);
      else
        p_.edge.push_back(EdgeStep{k, g, {n}});
    };
    for (uint32_t i = 0; i < net_.nodes.size(); ++i)
      if (net_.nodes[i].live && net_.nodes[i].isSyncRead())
        append(EdgeKind::SyncRead, i);
    for (uint32_t i = 0; i < net_.nodes.size(); ++i)
      if (net_.nodes[i].live && net_.nodes[i].isOp(hw::OpKind::MemWrite))
        append(EdgeKind::MemWrite, i);
    for (uint32_t r : regOrder_) {
      append(EdgeKind::Regs, r);
      if (net_.nodes[r].regHasReset() && net_.nodes[r].regAsync())
        p_.asyncRegs.push_back(r);
    }
    for (const EdgeStep &e : p_.edge)
      p_.scheduledOps += e.nodes.size();
  }

  void markStored() {
    const size_t N = net_.nodes.size();
    p_.stored.assign(N, 0);
    auto store = [&](Ref r) {
      if (r.valid()) {
        p_.stored[r.node] = 1;
        p_.stored[root(r.node)] = 1;
      }
    };
    for (uint32_t i = 0; i < N; ++i) {
      const Node &n = net_.nodes[i];
      if (!n.live || n.width == 0)
        continue;
      if (n.view)
        store(Ref{i, -1});
      else if (!isComb(n) || n.kind == NodeKind::Gather || n.kind == NodeKind::Pack)
        p_.stored[i] = 1;
    }
    for (uint32_t i = 0; i < N; ++i) {
      const Node &n = net_.nodes[i];
      if (!n.live || n.view)
        continue;
      if (isComb(n)) {
        if (n.kind == NodeKind::Gather) {
          for (Ref e : net_.gathers[n.attr1])
            store(e);
        } else if (n.kind == NodeKind::Pack) {
          store(n.operands[0]);
        } else {
          for (Ref o : n.operands)
            if (o.elem >= 0 || net_.nodes[o.node].view || p_.stepOf[o.node] != p_.stepOf[i])
              store(o);
        }
      } else {
        for (Ref o : n.operands)
          store(o);
      }
    }
    for (const Signal &s : net_.signals)
      store(s.ref);
    for (const TopOutput &o : net_.outputs)
      store(o.ref);
    // Wide values live in the arena, not in local arrays: GCC 12 at -O2 miscompiles some
    // sequences of word-array locals in unrolled lane loops (points-to analysis; clang and
    // -fno-tree-pta agree with the interpreter). Word-aligned extracts stay local: the
    // generator turns them into pointers into their source.
    for (uint32_t i = 0; i < N; ++i) {
      const Node &n = net_.nodes[i];
      if (n.live && n.width > 64 && !n.view &&
          !(n.isOp(hw::OpKind::Extract) && n.attr0 % 64 == 0 && n.width % 64 == 0))
        p_.stored[i] = 1;
    }
  }

  void layout() {
    const size_t N = net_.nodes.size();
    p_.offset.assign(N, UINT64_MAX);
    std::vector<uint8_t> isViewRoot(N, 0);
    for (uint32_t i = 0; i < N; ++i)
      if (net_.nodes[i].view)
        isViewRoot[p_.viewOf[i]] = 1;
    uint64_t off = 0;
    auto place = [&](uint32_t n) {
      const Node &node = net_.nodes[n];
      if (p_.offset[n] != UINT64_MAX || !node.live || node.width == 0 || node.view)
        return;
      uint64_t eb = elemBytes(node.width);
      uint64_t size = eb * p_.elems(n);
      uint64_t align = size >= 32 ? 32 : std::min<uint64_t>(eb, 8);
      if (isViewRoot[n])
        align = std::max<uint64_t>(align, 8);
      off = (off + align - 1) / align * align;
      p_.offset[n] = off;
      off += size;
    };
    for (const TopInput &in : net_.inputs)
      place(in.node);
    for (uint32_t i = 0; i < N; ++i)
      if (net_.nodes[i].live && net_.nodes[i].isState())
        place(i);
    for (const Step &s : p_.comb)
      for (uint32_t n : s.nodes)
        if (p_.stored[n])
          place(n);
    for (uint32_t i = 0; i < N; ++i)
      if (p_.stored[i])
        place(i);
    p_.memOffset.resize(net_.memories.size());
    for (size_t m = 0; m < net_.memories.size(); ++m) {
      const NetMemory &mem = net_.memories[m];
      uint64_t eb = elemBytes(mem.width);
      uint64_t size = eb * mem.depth * net_.groups[mem.group].count * p_.lanes;
      off = (off + 31) / 32 * 32;
      p_.memOffset[m] = off;
      off += size;
    }
    for (uint32_t i = 0; i < N; ++i)
      place(i);
    for (uint32_t i = 0; i < N; ++i)
      if (net_.nodes[i].view)
        p_.offset[i] = p_.offset[p_.viewOf[i]] + p_.viewOff[i];
    p_.arenaSize = (off + 63) / 64 * 64;
    if (p_.arenaSize == 0)
      p_.arenaSize = 64;
  }

  Program &p_;
  Net &net_;
  std::set<std::string> &unroll_;
  std::vector<uint32_t> regOrder_;
};

} // namespace

Expected<Program> buildProgram(const hw::Design &d, const std::string &topName, uint32_t lanes) {
  const hw::Module *top = topName.empty() ? d.top() : d.find(topName);
  if (!top) {
    if (!topName.empty()) {
      std::vector<std::string> names;
      for (const auto &m : d.modules())
        names.push_back(m->name());
      std::string msg = "no module named '" + topName + "'";
      std::string hint = closestMatch(topName, names);
      if (!hint.empty())
        msg += "; did you mean '" + hint + "'?";
      return Diagnostic::error("unknown-top", msg);
    }
    return Diagnostic::error("no-top", "the design has no unique top module; name one with --top");
  }
  if (lanes == 0)
    return Diagnostic::error("bad-lanes", "the number of lanes must be at least 1");
  std::set<std::string> unroll;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    TRY_ASSIGN(Net net, elaborate(d, *top, unroll));
    Program p;
    p.net = std::move(net);
    p.lanes = lanes;
    std::set<std::string> more;
    TRY(Scheduler(p, more).run());
    if (!more.empty()) {
      size_t before = unroll.size();
      unroll.insert(more.begin(), more.end());
      if (unroll.size() == before)
        return Diagnostic::error("comb-cycle", "combinational cycle through an instance array");
      continue;
    }
    for (uint32_t i = 0; i < p.net.inputs.size(); ++i)
      if (p.net.inputs[i].isClock)
        p.clockPort = i;
    return p;
  }
  return Diagnostic::error("comb-cycle", "combinational cycle through instance arrays");
}

} // namespace tessera::sim::detail
