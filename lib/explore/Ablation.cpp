//===- Ablation.cpp - how much each mechanism of a design contributes -----------===//
#include "explore/Ablation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace tessera::explore {

std::string_view mechanismKey(Mechanism m) {
  switch (m) {
  case Mechanism::Precision:
    return "precision";
  case Mechanism::Sparsity:
    return "sparsity";
  case Mechanism::Memory:
    return "memory";
  case Mechanism::ScaleCast:
    return "scale_cast";
  case Mechanism::ZeroSkip:
    return "zero_skipping";
  }
  return "?";
}

double Ablation::product() const {
  double p = architectureFactor;
  for (const MechanismContribution &m : mechanisms)
    p *= m.factor;
  return p;
}

namespace {

bool sameMemory(const arch::ArchSpec &s, const MemoryReference &m) {
  return s.globalBufferMib == m.globalBufferMib && s.hbm.stacks == m.hbmStacks &&
         s.hbm.bandwidthGBpsPerStack == m.hbmGBpsPerStack &&
         s.hbm.capacityGiBPerStack == m.hbmGiBPerStack;
}

std::string upper(std::string s) {
  for (char &c : s)
    c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

} // namespace

std::vector<Mechanism> mechanismsUsed(const arch::ArchSpec &spec,
                                      const perf::PrecisionPolicy &policy,
                                      const MemoryReference &memory) {
  std::vector<Mechanism> used;
  const arch::TensorUnit &t = spec.tile.tensor;
  if (policy.forwardGemm != arch::Format::BF16 || policy.backwardGemm != arch::Format::BF16)
    used.push_back(Mechanism::Precision);
  if (policy.sparseWeights)
    used.push_back(Mechanism::Sparsity);
  if (!sameMemory(spec, memory))
    used.push_back(Mechanism::Memory);
  if (spec.tile.scaleCast && spec.tile.scaleCast->onStorePath)
    used.push_back(Mechanism::ScaleCast);
  if ((t.zeroSkipActivations && policy.activationDensity < 1) ||
      (t.zeroSkipGradients && policy.gradientDensity < 1))
    used.push_back(Mechanism::ZeroSkip);
  return used;
}

arch::ArchSpec removeMechanisms(const arch::ArchSpec &spec, const std::vector<Mechanism> &removed,
                                const MemoryReference &memory) {
  arch::ArchSpec s = spec;
  arch::TensorUnit &t = s.tile.tensor;
  auto has = [&](Mechanism m) {
    return std::find(removed.begin(), removed.end(), m) != removed.end();
  };
  if (has(Mechanism::Precision))
    applyFormats(t, FormatSet::Bf16, !t.sparsityPatterns.empty());
  if (has(Mechanism::Sparsity))
    applySparsity(t, SparsityMode::Dense);
  if (has(Mechanism::Memory)) {
    s.globalBufferMib = memory.globalBufferMib;
    s.hbm.stacks = memory.hbmStacks;
    s.hbm.bandwidthGBpsPerStack = memory.hbmGBpsPerStack;
    s.hbm.capacityGiBPerStack = memory.hbmGiBPerStack;
  }
  if (has(Mechanism::ScaleCast))
    s.tile.scaleCast.reset();
  if (has(Mechanism::ZeroSkip)) {
    t.zeroSkipActivations = false;
    t.zeroSkipGradients = false;
  }
  return s;
}

Expected<Ablation> ablate(const Evaluator &evaluator, const arch::ArchSpec &best,
                          const PolicyLimits &limits, double baselineSeconds,
                          const MemoryReference &memory) {
  perf::PrecisionPolicy policy = choosePolicy(best, limits);
  std::vector<Mechanism> used = mechanismsUsed(best, policy, memory);
  const size_t n = used.size();
  const uint32_t all = (1u << n) - 1;

  Ablation a;
  a.baselineSeconds = baselineSeconds;
  std::vector<double> t(size_t(all) + 1, 0.0);
  for (uint32_t kept = 0; kept <= all; ++kept) {
    std::vector<Mechanism> removed;
    for (size_t i = 0; i < n; ++i)
      if (!(kept & (1u << i)))
        removed.push_back(used[i]);
    arch::ArchSpec s = removeMechanisms(best, removed, memory);
    auto est = evaluator.estimateUnbounded(s, choosePolicy(s, limits));
    if (!est) {
      Diagnostic d = est.error();
      std::string what;
      for (Mechanism m : removed)
        what += (what.empty() ? "" : ", ") + std::string(mechanismKey(m));
      d.message = fmt::format("ablation of the best design{}: {}",
                              what.empty() ? "" : " without " + what, d.message);
      return d;
    }
    t[kept] = est->iterationSeconds;
    a.subsets.push_back({kept, est->iterationSeconds});
  }
  a.bestSeconds = t[all];
  a.strippedSeconds = t[0];
  a.totalSpeedup = baselineSeconds / a.bestSeconds;
  a.architectureFactor = baselineSeconds / a.strippedSeconds;

  // Shapley value of f(S) = log(t(stripped) / t(S)).
  std::vector<double> fact(n + 1, 1.0);
  for (size_t i = 1; i <= n; ++i)
    fact[i] = fact[i - 1] * double(i);
  auto f = [&](uint32_t s) { return std::log(t[0] / t[s]); };
  for (size_t i = 0; i < n; ++i) {
    double phi = 0;
    for (uint32_t s = 0; s <= all; ++s) {
      if (s & (1u << i))
        continue;
      size_t k = size_t(__builtin_popcount(s));
      phi += fact[k] * fact[n - k - 1] / fact[n] * (f(s | (1u << i)) - f(s));
    }
    MechanismContribution c;
    c.mechanism = used[i];
    c.factor = std::exp(phi);
    c.leaveOneOut = t[all & ~(1u << i)] / t[all];
    const arch::TensorUnit &tu = best.tile.tensor;
    switch (used[i]) {
    case Mechanism::Precision:
      c.name =
          fmt::format("low precision ({})", upper(policy.name.substr(0, policy.name.find('-'))));
      c.change = fmt::format("{} -> bf16", policy.name.substr(0, policy.name.find('-')));
      break;
    case Mechanism::Sparsity:
      c.name = "2:4 sparsity";
      c.change = fmt::format("{} -> dense", sparsityModeName(sparsityModeOf(tu)));
      break;
    case Mechanism::Memory:
      c.name = "memory";
      c.change = fmt::format("{:g} MiB buffer, {} x {:g} GB/s HBM -> {:g} MiB, {} x {:g} GB/s",
                             best.globalBufferMib, best.hbm.stacks, best.hbm.bandwidthGBpsPerStack,
                             memory.globalBufferMib, memory.hbmStacks, memory.hbmGBpsPerStack);
      break;
    case Mechanism::ScaleCast:
      c.name = "scale-cast on store";
      c.change = "fused on the store path -> vector passes";
      break;
    case Mechanism::ZeroSkip:
      c.name = "zero skipping";
      c.change = fmt::format("densities {:g} / {:g} -> off", policy.activationDensity,
                             policy.gradientDensity);
      break;
    }
    a.mechanisms.push_back(std::move(c));
  }
  return a;
}

} // namespace tessera::explore
