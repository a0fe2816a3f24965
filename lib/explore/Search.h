//===- Search.h - design-space search strategies and Pareto fronts -------------===//
//
// Three strategies over a DesignSpace, all evaluating candidates in batches on a thread
// pool and combining results in batch-index order:
//
//  * exhaustive: every grid point, in mixed-radix order (used automatically when the grid
//    has no more points than the point budget);
//  * random: distinct points drawn uniformly;
//  * evolutionary: a (mu + lambda) genetic algorithm (Eiben & Smith, "Introduction to
//    Evolutionary Computing", ch. 3-5): the population starts from the point nearest the
//    base spec plus random points; each generation breeds lambda = mu children, each from
//    a tournament-selected parent (uniform crossover with a second one half of the time)
//    with one or two parameters mutated (a step to a neighbouring value, or a random
//    value); survivors are the best mu of parents and children, so the best design found
//    is never lost (elitism). Fitness: feasible designs by objective, then infeasible ones
//    by how far they are outside the budgets.
//
// Determinism: random numbers come from a seeded SplitMix64 generator used only on the
// calling thread between batches; batch sizes do not depend on the thread count, and
// ThreadPool::parallelMap returns results in index order. So for a given seed and point
// budget the evaluated points, their order and every result are the same on 1 or 64
// threads. A search that the time bound (budgetSeconds) stops ends at a batch boundary
// or, inside a batch, with the evaluations that started before the deadline, which
// depends on the machine: use the point budget (maxPoints) for reproducible runs.
//
// Candidates the space rejects (DesignSpace::materialize) are discarded and do not count
// against the point budget; each distinct point is evaluated at most once.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "explore/Evaluator.h"

#include <ostream>

namespace tessera::explore {

enum class Strategy : uint8_t { Auto, Exhaustive, Random, Evolutionary };
std::string_view strategyName(Strategy s); ///< "auto", "exhaustive", "random", "evolutionary"
/// Errors: `bad-value`.
Expected<Strategy> parseStrategy(const std::string &s);

struct SearchOptions {
  Strategy strategy = Strategy::Auto; ///< Auto: exhaustive if the grid fits maxPoints
  uint64_t maxPoints = 8000;          ///< evaluations (valid, distinct points)
  double budgetSeconds = 60;          ///< wall-clock bound; <= 0: none
  uint64_t seed = 1;
  unsigned threads = 0;   ///< 0: hardware concurrency
  size_t population = 32; ///< mu (and lambda) of the evolutionary search
  size_t tournament = 3;
  std::ostream *progress = nullptr; ///< progress bar stream (stderr in the tool)
};

/// A small deterministic PRNG (SplitMix64, Steele et al., OOPSLA 2014); the same stream on
/// every platform, unlike std::uniform_int_distribution.
class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : s_(seed) {}
  uint64_t next();
  /// Uniform in [0, n) (n > 0; multiply-shift, bias below 2^-32 for the sizes used here).
  uint64_t below(uint64_t n);
  /// Uniform in [0, 1).
  double unit();

private:
  uint64_t s_;
};

struct SearchResult {
  Strategy strategy = Strategy::Auto; ///< the one that ran
  std::vector<Evaluation> points;     ///< evaluation order
  uint64_t gridSize = 0;
  uint64_t discarded = 0;                  ///< candidates the space rejected
  std::vector<std::string> discardSamples; ///< the first few reasons
  int generations = 0;                     ///< evolutionary generations after the first
  std::string stopReason;                  ///< "point budget", "time budget", "grid exhausted", ...
  bool timeLimited = false;
  double wallSeconds = 0; ///< not part of any deterministic output
  /// Index into `points` of the best feasible design (lowest objective; ties: first).
  std::optional<size_t> best;
  size_t feasibleCount() const;
};

/// Runs the search. `evaluator` decides feasibility and objective.
SearchResult runSearch(const DesignSpace &space, const Evaluator &evaluator,
                       const SearchOptions &opts);

/// Indices of the points not dominated in (x, y), both minimized: a point is dominated
/// when another is <= in both and < in one. Equal points: the first is kept. Sorted by x,
/// then y.
std::vector<size_t> paretoFront(const std::vector<std::pair<double, double>> &points);

/// Pareto fronts of a search over its feasible points: step time vs area, step time vs
/// average power. Indices into result.points.
std::vector<size_t> paretoTimeArea(const SearchResult &r);
std::vector<size_t> paretoTimePower(const SearchResult &r);

} // namespace tessera::explore
