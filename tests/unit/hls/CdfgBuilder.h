// The hand-built-CDFG builder the hls tests share (no front end needed): blocks, edges,
// nodes located at `file`:(firstNodeLine + node id):nodeCol so tests can check C lines,
// and constants that keep a block's terminator last.
#pragma once

#include "hls/Cdfg.h"

#include <string>
#include <utility>
#include <vector>

namespace tessera::hls::testkit {

struct CdfgBuilder {
  Cdfg g;
  std::string file;
  uint32_t firstNodeLine, nodeCol;
  SourceLoc blockLoc, constLoc; ///< given to every block / constant

  CdfgBuilder(std::string name, std::string file_, uint32_t firstNodeLine_, uint32_t nodeCol_)
      : file(std::move(file_)), firstNodeLine(firstNodeLine_), nodeCol(nodeCol_) {
    g.name = std::move(name);
  }
  BlockId block(std::string name) {
    g.blocks.push_back(Block{});
    g.blocks.back().name = std::move(name);
    g.blocks.back().loc = blockLoc;
    return BlockId(g.blocks.size() - 1);
  }
  void edge(BlockId a, BlockId b) {
    g.blocks[a].succs.push_back(b);
    g.blocks[b].preds.push_back(a);
  }
  NodeId op(BlockId b, OpKind k, uint32_t w, std::vector<NodeId> ops, std::string name = "",
            uint32_t attr = kNone, uint32_t attr2 = kNone) {
    Node n;
    n.kind = k;
    n.width = w;
    n.operands = std::move(ops);
    n.attr = attr;
    n.attr2 = attr2;
    n.name = std::move(name);
    n.loc = {file, firstNodeLine + uint32_t(g.nodes.size()), nodeCol};
    return g.add(b, n);
  }
  NodeId c(BlockId b, uint32_t w, uint64_t v) {
    Node n;
    n.kind = OpKind::Const;
    n.width = w;
    n.value = w >= 64 ? v : v & ((uint64_t(1) << w) - 1);
    n.loc = constLoc;
    NodeId id = g.add(b, n);
    // Keep the terminator last when a constant is added to a finished block.
    std::vector<NodeId> &list = g.blocks[b].nodes;
    if (list.size() >= 2 && isTerminator(g.node(list[list.size() - 2]).kind))
      std::swap(list[list.size() - 1], list[list.size() - 2]);
    return id;
  }
};

} // namespace tessera::hls::testkit
