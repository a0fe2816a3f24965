//===- Zoo.cpp - the built-in model zoo: registry and option resolution -----===//
//
// The table of built-in models with their published hyper-parameters, the resolution of
// ZooOptions against it (defaults, overrides, checks with stable diagnostic ids) and the
// GraphBuilder the family builders share. Rules worth knowing:
//
//   - Vocabulary: the published size is kept when the tensor-parallel degree t divides it;
//     otherwise it is padded up to a multiple of 128*t, Megatron-LM's
//     --make-vocab-size-divisible-by rule (GPT's 50257 becomes 51200 at t = 8). An
//     explicit vocabulary is never padded and must be divisible by t.
//   - FFN: 4*hidden for GPT, BERT and ViT; Llama's SwiGLU size is 2/3 * 4*hidden rounded
//     up to a multiple of 256 (11008 for hidden 4096) unless given.
//   - Learned position tables have the published number of rows (GPT-2 1024, GPT-3 2048,
//     BERT 512); a longer sequence is an error. Generic `gpt` sizes the table to seq.
//   - BERT-large carries its masked-LM head (dense + LayerNorm + decoder bias, decoder
//     tied to the word embeddings) and no pooler / NSP head: 335.2M parameters
//     (HF's 335.1M counts the pooler instead of the MLM transform).
//   - Llama has no dropout and no biases; opts.dropout does not apply to it.
//
//===----------------------------------------------------------------------===//
#include "workload/Zoo.h"
#include "workload/ZooBuilder.h"

#include <algorithm>
#include <cctype>

namespace tessera::workload {

namespace zoo {

GraphBuilder::GraphBuilder(const std::string &model, DType dtype, bool sequenceParallel)
    : g_(model), dtype_(dtype), sequenceParallel_(sequenceParallel) {
  loc_.file = "zoo:" + model;
}

TensorId GraphBuilder::input(const std::string &name, Shape shape, DType dtype) {
  Tensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.dtype = dtype;
  t.role = TensorRole::Input;
  TensorId id = g_.addTensor(std::move(t));
  g_.inputs().push_back(id);
  return id;
}

TensorId GraphBuilder::param(const std::string &name, Shape shape, bool sharded) {
  Tensor t;
  t.name = prefix + name;
  t.shape = std::move(shape);
  t.dtype = dtype_;
  t.role = TensorRole::Parameter;
  t.partialGradTp = sequenceParallel_ && !sharded;
  return g_.addTensor(std::move(t));
}

TensorId GraphBuilder::constant(const std::string &name, Shape shape, DType dtype) {
  Tensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.dtype = dtype;
  t.role = TensorRole::Constant;
  return g_.addTensor(std::move(t));
}

std::vector<TensorId> GraphBuilder::op(OpKind kind, const std::string &name,
                                       std::vector<TensorId> inputs, std::vector<Out> outs,
                                       OpAttrs attrs) {
  Op o;
  o.kind = kind;
  o.name = prefix + name;
  o.inputs = std::move(inputs);
  o.attrs = attrs;
  o.layer = layer;
  o.loc = loc_;
  for (Out &out : outs) {
    Tensor t;
    t.name = o.name + out.suffix;
    t.shape = std::move(out.shape);
    t.dtype = out.dtype;
    t.role = TensorRole::Activation;
    o.outputs.push_back(g_.addTensor(std::move(t)));
  }
  std::vector<TensorId> result = o.outputs;
  g_.addOp(std::move(o));
  return result;
}

TensorId GraphBuilder::op1(OpKind kind, const std::string &name, std::vector<TensorId> inputs,
                           Shape shape, OpAttrs attrs) {
  return op(kind, name, std::move(inputs), {{"", std::move(shape), dtype_}}, attrs)[0];
}

} // namespace zoo

namespace {

enum class Arch : uint8_t { Gpt, Llama, Bert, ResNet, Vit };

struct Entry {
  const char *name;
  const char *description;
  Arch arch;
  bool generic; ///< hidden / heads / layers must be given
  int64_t hidden, heads, layers, seq, vocab, ffn, positions;
};

// clang-format off
const Entry kZoo[] = {
  {"gpt2", "GPT-2 small (124M): 12 layers, hidden 768, 12 heads, seq 1024, vocab 50257",
   Arch::Gpt, false, 768, 12, 12, 1024, 50257, 0, 1024},
  {"gpt2-medium", "GPT-2 medium (355M): 24 layers, hidden 1024, 16 heads, seq 1024",
   Arch::Gpt, false, 1024, 16, 24, 1024, 50257, 0, 1024},
  {"gpt2-large", "GPT-2 large (774M): 36 layers, hidden 1280, 20 heads, seq 1024",
   Arch::Gpt, false, 1280, 20, 36, 1024, 50257, 0, 1024},
  {"gpt2-xl", "GPT-2 XL (1.56B): 48 layers, hidden 1600, 25 heads, seq 1024",
   Arch::Gpt, false, 1600, 25, 48, 1024, 50257, 0, 1024},
  {"gpt3-175b", "GPT-3 175B: 96 layers, hidden 12288, 96 heads, seq 2048, vocab 50257",
   Arch::Gpt, false, 12288, 96, 96, 2048, 50257, 0, 2048},
  {"gpt", "generic GPT: needs hidden, heads, layers; seq 2048, vocab 50257, FFN 4*hidden",
   Arch::Gpt, true, 0, 0, 0, 2048, 50257, 0, 0},
  {"llama2-7b", "Llama-2 7B: 32 layers, hidden 4096, 32 heads, SwiGLU FFN 11008, RMSNorm, "
   "RoPE, seq 4096, vocab 32000, untied embeddings",
   Arch::Llama, false, 4096, 32, 32, 4096, 32000, 11008, 0},
  {"llama", "generic Llama: needs hidden, heads, layers; seq 4096, vocab 32000, "
   "FFN 2/3*4*hidden rounded up to 256",
   Arch::Llama, true, 0, 0, 0, 4096, 32000, 0, 0},
  {"bert-large", "BERT-large with masked-LM head (335M): 24 layers, hidden 1024, 16 heads, "
   "seq 512, vocab 30522",
   Arch::Bert, false, 1024, 16, 24, 512, 30522, 0, 512},
  {"resnet50", "ResNet-50 v1.5 (25.6M): 224x224 images, 1000 classes",
   Arch::ResNet, false, 0, 0, 0, 0, 0, 0, 0},
  {"vit-b16", "ViT-B/16 (86.6M): 224x224 images, 16x16 patches, 12 layers, hidden 768, "
   "12 heads, MLP 3072, 1000 classes",
   Arch::Vit, false, 768, 12, 12, 197, 1000, 3072, 0},
};
// clang-format on

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// closestMatch, then a model the name is the start of ("llama2" -> "llama2-7b"), then
/// one within two edits for names of four or more characters ("gtp2" -> "gpt2").
std::string suggest(const std::string &name, const std::vector<std::string> &names) {
  std::string word = lower(name);
  std::string guess = closestMatch(word, names);
  if (!guess.empty() || word.empty())
    return guess;
  for (const std::string &n : names)
    if (n.rfind(word, 0) == 0)
      return n;
  size_t best = 3;
  for (const std::string &n : names) {
    size_t d = editDistance(word, n);
    if (word.size() >= 4 && d < best) {
      best = d;
      guess = n;
    }
  }
  return guess;
}

Diagnostic unknownWorkload(const std::string &name) {
  std::vector<std::string> names = zooModelNames();
  std::string guess = suggest(name, names);
  std::string msg = "unknown workload '" + name + "'";
  if (!guess.empty())
    msg += "; did you mean '" + guess + "'?";
  std::string list;
  for (const std::string &n : names)
    list += (list.empty() ? "" : ", ") + n;
  return Diagnostic::error("unknown-workload", msg)
      .withNote(Diagnostic::note("built-in workloads: " + list));
}

Diagnostic badShape(const std::string &msg) { return Diagnostic::error("bad-shape", msg); }
Diagnostic badParallelism(const std::string &msg) {
  return Diagnostic::error("bad-parallelism", msg);
}

std::string tpDoesNotDivide(int64_t tp, const std::string &what) {
  return "tensor-parallel degree " + std::to_string(tp) + " does not divide " + what;
}

/// Overrides that a model family has no use for are errors, not silently ignored.
Status rejectOverrides(const Entry &e, const ZooOptions &o, bool allowShape) {
  auto reject = [&](bool given, const char *what) -> Status {
    if (!given)
      return Status::success();
    return Diagnostic::error("bad-option",
                             std::string("a ") + what + " does not apply to " + e.name);
  };
  TRY(reject(o.seq.has_value(), "sequence length"));
  TRY(reject(o.vocab.has_value(), "vocabulary size"));
  if (!allowShape) {
    TRY(reject(o.hidden.has_value(), "hidden size"));
    TRY(reject(o.heads.has_value(), "head count"));
    TRY(reject(o.layers.has_value(), "layer count"));
    TRY(reject(o.ffn.has_value(), "FFN size"));
  }
  return Status::success();
}

int64_t llamaFfn(int64_t hidden) {
  int64_t f = 2 * 4 * hidden / 3;
  return (f + 255) / 256 * 256;
}

Expected<zoo::TransformerSpec> resolveTransformer(const Entry &e, const ZooOptions &o) {
  zoo::TransformerSpec s;
  s.model = e.name;
  s.family = e.arch == Arch::Llama  ? zoo::Family::Llama
             : e.arch == Arch::Bert ? zoo::Family::Bert
             : e.arch == Arch::Vit  ? zoo::Family::Vit
                                    : zoo::Family::Gpt;
  if (e.generic && !(o.hidden && o.heads && o.layers))
    return badShape(std::string("'") + e.name +
                    "' is a generic shape: give its hidden size, heads and layers");
  s.batch = o.batch;
  s.hidden = o.hidden.value_or(e.hidden);
  s.heads = o.heads.value_or(e.heads);
  s.layers = o.layers.value_or(e.layers);
  s.seq = o.seq.value_or(e.seq);
  s.tp = o.tp;
  s.sequenceParallel = o.sequenceParallel;
  s.dtype = o.dtype;
  s.attention = o.attention;
  s.dropout = o.dropout;

  if (o.ffn)
    s.ffn = *o.ffn;
  else if (e.ffn && !o.hidden)
    s.ffn = e.ffn;
  else
    s.ffn = s.family == zoo::Family::Llama ? llamaFfn(s.hidden) : 4 * s.hidden;

  if (s.family == zoo::Family::Vit) {
    s.seq = (s.image / s.patch) * (s.image / s.patch) + 1;
    s.vocab = e.vocab; // classes
  }

  const std::pair<const char *, int64_t> sizes[] = {
      {"batch size", s.batch}, {"sequence length", s.seq}, {"hidden size", s.hidden},
      {"head count", s.heads}, {"layer count", s.layers},  {"FFN size", s.ffn}};
  for (auto [what, v] : sizes)
    if (v <= 0)
      return badShape(std::string(what) + " must be positive (got " + std::to_string(v) + ")");
  if (o.vocab && *o.vocab <= 0)
    return badShape("vocabulary size must be positive (got " + std::to_string(*o.vocab) + ")");
  if (s.hidden % s.heads != 0)
    return badShape("hidden size " + std::to_string(s.hidden) + " is not divisible by " +
                    std::to_string(s.heads) + " attention heads");
  if (e.positions > 0 && !e.generic && s.seq > e.positions)
    return badShape(std::string(e.name) + " has " + std::to_string(e.positions) +
                    " learned positions; sequence length " + std::to_string(s.seq) +
                    " exceeds them");
  s.positions = e.positions > 0 ? e.positions : (s.family == zoo::Family::Llama ? 0 : s.seq);

  if (s.tp <= 0)
    return badParallelism("tensor-parallel degree must be positive (got " + std::to_string(s.tp) +
                          ")");
  if (s.sequenceParallel && s.tp == 1)
    return badParallelism("sequence parallelism needs a tensor-parallel degree above 1");
  if (s.sequenceParallel && s.family == zoo::Family::Vit)
    return badParallelism(std::string("sequence parallelism is not supported for ") + e.name);
  if (s.heads % s.tp != 0)
    return badParallelism(tpDoesNotDivide(s.tp, std::to_string(s.heads) + " attention heads"));
  if (s.ffn % s.tp != 0)
    return badParallelism(tpDoesNotDivide(s.tp, "the FFN size " + std::to_string(s.ffn)));
  if (s.sequenceParallel && s.seq % s.tp != 0)
    return badParallelism(tpDoesNotDivide(s.tp, "the sequence length " + std::to_string(s.seq)) +
                          " (sequence parallelism shards the tokens)");

  if (s.family != zoo::Family::Vit) {
    if (o.vocab) {
      s.vocab = *o.vocab;
      if (s.vocab % s.tp != 0)
        return badParallelism(
            tpDoesNotDivide(s.tp, "the vocabulary size " + std::to_string(s.vocab)));
    } else {
      s.vocab = e.vocab;
      if (s.vocab % s.tp != 0) {
        int64_t m = 128 * s.tp;
        s.vocab = (s.vocab + m - 1) / m * m;
      }
    }
  }
  return s;
}

} // namespace

std::vector<std::string> zooModelNames() {
  std::vector<std::string> names;
  for (const Entry &e : kZoo)
    names.push_back(e.name);
  return names;
}

std::vector<ZooInfo> zooModels() {
  std::vector<ZooInfo> models;
  for (const Entry &e : kZoo)
    models.push_back({e.name, e.description, e.arch != Arch::ResNet});
  return models;
}

Expected<Graph> buildZooModel(const std::string &name, const ZooOptions &opts) {
  const Entry *entry = nullptr;
  for (const Entry &e : kZoo)
    if (name == e.name)
      entry = &e;
  if (!entry)
    return unknownWorkload(name);
  if (opts.batch <= 0)
    return badShape("batch size must be positive (got " + std::to_string(opts.batch) + ")");
  if (!(opts.dropout >= 0 && opts.dropout < 1))
    return Diagnostic::error("bad-option", "dropout probability must be in [0, 1) (got " +
                                               std::to_string(opts.dropout) + ")");

  if (entry->arch == Arch::ResNet) {
    TRY(rejectOverrides(*entry, opts, /*allowShape=*/false));
    if (opts.tp != 1 || opts.sequenceParallel)
      return badParallelism(std::string(entry->name) +
                            " has no tensor-parallel layout; use data parallelism");
    return zoo::buildResNet50(entry->name, opts.batch, opts.dtype);
  }
  if (entry->arch == Arch::Vit)
    TRY(rejectOverrides(*entry, opts, /*allowShape=*/true));
  TRY_ASSIGN(zoo::TransformerSpec spec, resolveTransformer(*entry, opts));
  return zoo::buildTransformer(spec);
}

} // namespace tessera::workload
