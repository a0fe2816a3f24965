//===- Zoo.h - the built-in model zoo ---------------------------------------===//
//
// Models built from hyper-parameters only (no weights): GPT-2 (small/medium/large/xl),
// GPT-3 175B, Llama-2-7B, BERT-large, ResNet-50, ViT-B/16, and generic GPT / Llama
// shapes. Transformer models are built as the graph of one tensor-parallel rank.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "workload/Graph.h"

#include <optional>

namespace tessera::workload {

enum class AttentionImpl : uint8_t {
  Fused,   ///< one Attention op, scores never stored (flash attention)
  Unfused, ///< QK^T matmul, scale/mask softmax, dropout, PV matmul (Megatron-LM 2021)
};

struct ZooOptions {
  int64_t batch = 1;             ///< micro-batch size (sequences or images)
  std::optional<int64_t> seq;    ///< sequence length override (transformers)
  std::optional<int64_t> hidden; ///< overrides for generic shapes
  std::optional<int64_t> heads;
  std::optional<int64_t> layers;
  std::optional<int64_t> vocab;
  std::optional<int64_t> ffn;    ///< FFN inner size override
  int64_t tp = 1;                ///< tensor-parallel degree: build one rank's graph
  bool sequenceParallel = false; ///< Megatron sequence parallelism (needs tp > 1)
  DType dtype = DType::BF16;     ///< activation / weight compute type
  AttentionImpl attention = AttentionImpl::Fused;
  double dropout = 0.1;          ///< 0 drops the dropout ops
};

/// Names accepted by buildZooModel, in a stable order.
std::vector<std::string> zooModelNames();

/// Description of a zoo model for `--help` and `workload show`.
struct ZooInfo {
  std::string name;
  std::string description;
  bool transformer = false;
};
std::vector<ZooInfo> zooModels();

/// Builds a forward graph whose output is the scalar loss (labels are an Input tensor).
/// Sizes not given take the published values; a published vocabulary that tp does not
/// divide is padded to a multiple of 128*tp (Megatron-LM), an explicit one never is; the
/// learned position tables of GPT-2/3 and BERT bound the sequence length; Llama has no
/// dropout. Errors: `unknown-workload` (with a "did you mean"), `bad-parallelism` (tp
/// does not divide heads / ffn / vocab / seq under sequence parallelism, sequence
/// parallel without tp, tp for ResNet), `bad-shape` (non-positive sizes, hidden not
/// divisible by heads, generic shape without hidden/heads/layers, seq beyond the learned
/// positions), `bad-option` (an override the model has no use for, dropout outside
/// [0, 1)).
Expected<Graph> buildZooModel(const std::string &name, const ZooOptions &opts);

} // namespace tessera::workload
