//===- Search.cpp - design-space search strategies and Pareto fronts -----------===//
#include "explore/Search.h"

#include "support/Progress.h"
#include "support/ThreadPool.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <unordered_map>

namespace tessera::explore {

std::string_view strategyName(Strategy s) {
  switch (s) {
  case Strategy::Auto:
    return "auto";
  case Strategy::Exhaustive:
    return "exhaustive";
  case Strategy::Random:
    return "random";
  case Strategy::Evolutionary:
    return "evolutionary";
  }
  return "?";
}

Expected<Strategy> parseStrategy(const std::string &s) {
  for (Strategy v :
       {Strategy::Auto, Strategy::Exhaustive, Strategy::Random, Strategy::Evolutionary})
    if (s == strategyName(v))
      return v;
  return Diagnostic::error("bad-value",
                           "unknown --strategy '" + s +
                               "' (expected auto, exhaustive, random or evolutionary)");
}

uint64_t SplitMix64::next() {
  uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::below(uint64_t n) {
  // Lemire's multiply-shift on the high 32 bits (n is far below 2^32 here).
  if (n <= 1)
    return 0;
  if (n <= 0xffffffffULL)
    return ((next() >> 32) * n) >> 32;
  return next() % n;
}

double SplitMix64::unit() { return double(next() >> 11) * 0x1.0p-53; }

size_t SearchResult::feasibleCount() const {
  return size_t(
      std::count_if(points.begin(), points.end(), [](const Evaluation &e) { return e.feasible; }));
}

namespace {

using Clock = std::chrono::steady_clock;

struct PointHash {
  size_t operator()(const DesignPoint &p) const {
    uint64_t h = 1469598103934665603ULL;
    for (uint16_t v : p) {
      h ^= v;
      h *= 1099511628211ULL;
    }
    return size_t(h);
  }
};

/// Fitness order: feasible before infeasible; then objective (feasible) or violation
/// (infeasible); then evaluation order.
bool fitter(const std::vector<Evaluation> &pts, size_t a, size_t b) {
  const Evaluation &x = pts[a], &y = pts[b];
  if (x.feasible != y.feasible)
    return x.feasible;
  if (x.feasible && x.objective != y.objective)
    return x.objective < y.objective;
  if (!x.feasible && x.violation != y.violation)
    return x.violation < y.violation;
  return a < b;
}

constexpr size_t kBatch = 64;            // exhaustive / random batch
constexpr size_t kAttemptsPerPoint = 64; // draws before giving up on finding a new point
constexpr size_t kMaxDiscardSamples = 5;

class Runner {
public:
  Runner(const DesignSpace &space, const Evaluator &ev, const SearchOptions &o)
      : space_(space), ev_(ev), o_(o), rng_(o.seed) {
    start_ = Clock::now();
    if (o.budgetSeconds > 0)
      deadline_ = start_ + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(o.budgetSeconds));
    unsigned threads = o.threads ? o.threads : ThreadPool::defaultThreadCount();
    // The calling thread works on its own loop too: threads - 1 workers.
    if (threads > 1)
      pool_ = std::make_unique<ThreadPool>(threads - 1);
    r_.gridSize = space.gridSize();
  }

  SearchResult run() {
    Strategy s = o_.strategy;
    if (s == Strategy::Auto)
      s = r_.gridSize <= o_.maxPoints ? Strategy::Exhaustive : Strategy::Evolutionary;
    r_.strategy = s;
    uint64_t total = s == Strategy::Exhaustive ? std::min(r_.gridSize, o_.maxPoints) : o_.maxPoints;
    if (o_.progress)
      bar_ = std::make_unique<ProgressBar>(*o_.progress, total, "explore");
    switch (s) {
    case Strategy::Exhaustive:
      exhaustive();
      break;
    case Strategy::Random:
      random();
      break;
    default:
      evolutionary();
      break;
    }
    if (bar_)
      bar_->finish();
    r_.wallSeconds = std::chrono::duration<double>(Clock::now() - start_).count();
    for (size_t i = 0; i < r_.points.size(); ++i)
      if (r_.points[i].feasible && (!r_.best || fitter(r_.points, i, *r_.best)))
        r_.best = i;
    return std::move(r_);
  }

private:
  struct Candidate {
    DesignPoint point;
    arch::ArchSpec spec;
  };

  bool timeUp() const { return deadline_ && Clock::now() >= *deadline_; }
  bool pointsLeft() const { return r_.points.size() < o_.maxPoints; }
  size_t remaining() const { return size_t(o_.maxPoints - r_.points.size()); }

  /// A new valid point as a candidate; nullopt if seen before or rejected by the space.
  std::optional<Candidate> admit(const DesignPoint &p) {
    if (!seen_.emplace(p, 0).second)
      return std::nullopt;
    auto spec = space_.materialize(p);
    if (!spec) {
      ++r_.discarded;
      if (r_.discardSamples.size() < kMaxDiscardSamples)
        r_.discardSamples.push_back(space_.label(p) + ": " + spec.error().message);
      return std::nullopt;
    }
    return Candidate{p, std::move(*spec)};
  }

  DesignPoint randomPoint() {
    DesignPoint p{};
    for (size_t i = 0; i < kNumParams; ++i)
      p[i] = uint16_t(rng_.below(space_.params()[i].size()));
    return p;
  }

  /// Evaluates a batch in parallel and appends the results in batch order. Evaluations
  /// that would start after the deadline are skipped and end the search.
  void evaluate(const std::vector<Candidate> &batch) {
    auto one = [&](size_t i) -> std::optional<Evaluation> {
      if (timeUp())
        return std::nullopt;
      const Candidate &c = batch[i];
      Evaluation e = ev_.evaluate(c.spec, choosePolicy(c.spec, space_.limits()));
      e.point = c.point;
      e.label = space_.label(c.point);
      if (bar_)
        bar_->advance();
      return e;
    };
    std::vector<std::optional<Evaluation>> out;
    if (pool_)
      out = pool_->parallelMap(0, batch.size(), one, 1);
    else
      for (size_t i = 0; i < batch.size(); ++i)
        out.push_back(one(i));
    for (auto &e : out) {
      if (e)
        r_.points.push_back(std::move(*e));
      else
        r_.timeLimited = true;
    }
  }

  bool stopCheck() {
    if (r_.timeLimited || timeUp()) {
      r_.timeLimited = true;
      r_.stopReason = "time budget";
      return true;
    }
    if (!pointsLeft()) {
      r_.stopReason = "point budget";
      return true;
    }
    return false;
  }

  void exhaustive() {
    std::vector<Candidate> batch;
    for (uint64_t i = 0; i < r_.gridSize; ++i) {
      if (batch.size() >= std::min(kBatch, remaining())) {
        evaluate(batch);
        batch.clear();
        if (stopCheck())
          return;
      }
      if (auto c = admit(space_.pointAt(i)))
        batch.push_back(std::move(*c));
    }
    evaluate(batch);
    if (!stopCheck())
      r_.stopReason = "grid exhausted";
  }

  /// Fills up to `n` new random candidates; false if the space seems exhausted.
  bool randomBatch(size_t n, std::vector<Candidate> &batch) {
    size_t attempts = 0;
    while (batch.size() < n && attempts < kAttemptsPerPoint * n) {
      ++attempts;
      if (auto c = admit(randomPoint()))
        batch.push_back(std::move(*c));
    }
    return !batch.empty();
  }

  void random() {
    while (!stopCheck()) {
      std::vector<Candidate> batch;
      if (!randomBatch(std::min(kBatch, remaining()), batch)) {
        r_.stopReason = "no new points";
        return;
      }
      evaluate(batch);
    }
  }

  size_t tournament(const std::vector<size_t> &pop) {
    size_t best = pop[rng_.below(pop.size())];
    for (size_t i = 1; i < o_.tournament; ++i) {
      size_t c = pop[rng_.below(pop.size())];
      if (fitter(r_.points, c, best))
        best = c;
    }
    return best;
  }

  void mutate(DesignPoint &p) {
    std::vector<size_t> free;
    for (size_t i = 0; i < kNumParams; ++i)
      if (space_.params()[i].size() > 1)
        free.push_back(i);
    if (free.empty())
      return;
    size_t count = rng_.unit() < 0.5 ? 1 : 2;
    for (size_t k = 0; k < count && !free.empty(); ++k) {
      size_t j = rng_.below(free.size());
      size_t i = free[j];
      free.erase(free.begin() + ptrdiff_t(j));
      int n = int(space_.params()[i].size());
      int v = p[i];
      if (rng_.unit() < 0.7) { // a neighbouring value
        int step = rng_.unit() < 0.5 ? -1 : 1;
        if (v + step < 0 || v + step >= n)
          step = -step;
        v += step;
      } else { // any other value
        v = int((uint64_t(v) + 1 + rng_.below(uint64_t(n - 1))) % uint64_t(n));
      }
      p[i] = uint16_t(v);
    }
  }

  void evolutionary() {
    size_t mu = std::max<size_t>(2, std::min<size_t>(o_.population, o_.maxPoints));
    std::vector<Candidate> batch;
    if (auto c = admit(space_.nearestToBase()))
      batch.push_back(std::move(*c));
    randomBatch(std::min(mu, remaining()), batch);
    if (batch.empty()) {
      r_.stopReason = "no valid points";
      return;
    }
    evaluate(batch);
    std::vector<size_t> pop(r_.points.size());
    for (size_t i = 0; i < pop.size(); ++i)
      pop[i] = i;
    while (!stopCheck()) {
      size_t lambda = std::min(mu, remaining());
      std::vector<Candidate> children;
      size_t attempts = 0;
      while (children.size() < lambda && attempts < kAttemptsPerPoint * lambda) {
        ++attempts;
        DesignPoint child = r_.points[tournament(pop)].point;
        if (rng_.unit() < 0.5) {
          const DesignPoint &other = r_.points[tournament(pop)].point;
          for (size_t i = 0; i < kNumParams; ++i)
            if (rng_.unit() < 0.5)
              child[i] = other[i];
        }
        mutate(child);
        if (auto c = admit(child))
          children.push_back(std::move(*c));
      }
      // Converged onto points already seen: keep going with fresh random ones.
      if (children.size() < lambda)
        randomBatch(lambda, children);
      if (children.empty()) {
        r_.stopReason = "no new points";
        return;
      }
      size_t first = r_.points.size();
      evaluate(children);
      for (size_t i = first; i < r_.points.size(); ++i)
        pop.push_back(i);
      std::sort(pop.begin(), pop.end(),
                [&](size_t a, size_t b) { return fitter(r_.points, a, b); });
      if (pop.size() > mu)
        pop.resize(mu);
      ++r_.generations;
    }
  }

  const DesignSpace &space_;
  const Evaluator &ev_;
  const SearchOptions &o_;
  SplitMix64 rng_;
  Clock::time_point start_;
  std::optional<Clock::time_point> deadline_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<ProgressBar> bar_;
  std::unordered_map<DesignPoint, char, PointHash> seen_;
  SearchResult r_;
};

} // namespace

SearchResult runSearch(const DesignSpace &space, const Evaluator &evaluator,
                       const SearchOptions &opts) {
  return Runner(space, evaluator, opts).run();
}

std::vector<size_t> paretoFront(const std::vector<std::pair<double, double>> &points) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < points.size(); ++i)
    if (std::isfinite(points[i].first) && std::isfinite(points[i].second))
      idx.push_back(i);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    if (points[a].first != points[b].first)
      return points[a].first < points[b].first;
    if (points[a].second != points[b].second)
      return points[a].second < points[b].second;
    return a < b;
  });
  std::vector<size_t> front;
  double bestY = std::numeric_limits<double>::infinity();
  for (size_t i : idx)
    if (points[i].second < bestY) {
      front.push_back(i);
      bestY = points[i].second;
    }
  return front;
}

namespace {
std::vector<size_t> frontOf(const SearchResult &r, double Evaluation::*x) {
  std::vector<std::pair<double, double>> pts;
  std::vector<size_t> map;
  for (size_t i = 0; i < r.points.size(); ++i)
    if (r.points[i].feasible) {
      pts.push_back({r.points[i].*x, r.points[i].iterationSeconds});
      map.push_back(i);
    }
  std::vector<size_t> f = paretoFront(pts);
  for (size_t &i : f)
    i = map[i];
  return f;
}
} // namespace

std::vector<size_t> paretoTimeArea(const SearchResult &r) {
  return frontOf(r, &Evaluation::areaMm2);
}
std::vector<size_t> paretoTimePower(const SearchResult &r) {
  return frontOf(r, &Evaluation::powerWatts);
}

} // namespace tessera::explore
