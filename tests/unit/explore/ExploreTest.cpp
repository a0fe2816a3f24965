//===- ExploreTest.cpp - the explore pipeline, ablation and reports --------------===//
#include "explore/Explore.h"

#include "support/FileIO.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <regex>

using namespace tessera;
using namespace tessera::explore;

namespace {

ExploreRequest gpt2Request() {
  ExploreRequest r;
  r.workload.workload = "gpt2";
  r.workload.zoo.batch = 4;
  r.workload.parallel.devices = 8;
  r.workload.parallel.microBatch = 4;
  r.search.maxPoints = 48;
  r.search.population = 12;
  r.search.threads = 2;
  r.search.seed = 3;
  r.command = "tessera explore --workload gpt2 --batch 4 --gpus 8 --max-points 48 --seed 3";
  return r;
}

const ExploreResult &gpt2Result() {
  static const ExploreResult r = [] {
    auto res = runExplore(gpt2Request());
    EXPECT_TRUE(res) << res.error().render();
    return *res;
  }();
  return r;
}

std::string tempDir(const std::string &name) {
  auto d = std::filesystem::temp_directory_path() / ("tessera-explore-test-" + name);
  std::filesystem::remove_all(d);
  return d.string();
}

} // namespace

TEST(Explore, ReportJsonHasTheFieldsAProgramNeeds) {
  const ExploreResult &r = gpt2Result();
  nlohmann::ordered_json j = reportJson(r);
  for (const char *key : {"tool", "command", "workload", "budget", "search", "baseline", "best",
                          "speedup_equal_area", "headline", "ablation", "pareto", "points"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["budget"]["area_mm2"], 826.0);
  EXPECT_EQ(j["budget"]["power_watts"], 400.0);
  EXPECT_EQ(j["budget"]["hbm_gbps"], 2039.0);
  EXPECT_EQ(j["budget"]["node"], "7nm");
  EXPECT_EQ(j["search"]["seed"], 3);
  EXPECT_EQ(j["search"]["max_points"], 48);
  EXPECT_EQ(j["search"]["evaluated"], 48);
  EXPECT_EQ(j["points"].size(), 48u);
  EXPECT_EQ(j["search"]["space"].size(), kNumParams);
  EXPECT_EQ(j["baseline"]["name"], "A800");
  EXPECT_GT(j["baseline"]["iteration_seconds"].get<double>(), 0);
  EXPECT_GT(j["baseline"]["tflops_per_device"].get<double>(), 0);
  EXPECT_GT(j["baseline"]["memory_per_device_bytes"].get<double>(), 0);
  EXPECT_TRUE(j["best"]["feasible"].get<bool>());
  EXPECT_EQ(j["best"]["params"].size(), kNumParams);
  EXPECT_DOUBLE_EQ(j["speedup_equal_area"].get<double>(),
                   r.baselineEstimate.iterationSeconds / r.best.iterationSeconds);
  for (const auto &p : j["points"]) {
    EXPECT_TRUE(p.contains("params"));
    EXPECT_TRUE(p.contains("objective"));
    EXPECT_EQ(p["params"].size(), kNumParams);
  }
  for (size_t i : j["pareto"]["time_vs_area"].get<std::vector<size_t>>())
    EXPECT_TRUE(j["points"][i]["feasible"].get<bool>());
  EXPECT_NE(j["headline"].get<std::string>().find("faster than A800 per training step at equal "
                                                  "area (826 mm², 54.2 B transistors budget)"),
            std::string::npos);
  // The text written to report.json parses back to the same document.
  auto parsed = nlohmann::ordered_json::parse(reportJsonText(r));
  EXPECT_EQ(parsed, j);
}

TEST(Explore, AblationFactorsMultiplyToTheSpeedup) {
  const ExploreResult &r = gpt2Result();
  ASSERT_TRUE(r.ablation) << r.ablationError;
  const Ablation &a = *r.ablation;
  EXPECT_NEAR(a.product(), r.speedup(), 1e-9 * r.speedup());
  EXPECT_NEAR(a.bestSeconds, r.best.iterationSeconds, 1e-12 * a.bestSeconds);
  EXPECT_EQ(a.subsets.size(), size_t(1) << a.mechanisms.size());
  double mech = 1;
  for (const MechanismContribution &m : a.mechanisms) {
    EXPECT_GT(m.factor, 0);
    mech *= m.factor;
  }
  EXPECT_NEAR(mech, a.strippedSeconds / a.bestSeconds, 1e-9 * mech);
}

TEST(Explore, ShapleyAndLeaveOneOutOnTheTemplate) {
  // The template uses MXFP8 with 2:4 weights, a 56 MiB buffer and scale-cast; with a
  // gradient density below 1 zero skipping counts too.
  perf::EstimateRequest req = gpt2Request().workload;
  auto w = TrainingWorkload::build(req);
  ASSERT_TRUE(w);
  Evaluator ev(*w, Budget{}, Objective::Time);
  PolicyLimits lim;
  lim.activationDensity = 0.6;
  MemoryReference mem;
  const arch::ArchSpec &t = defaultTemplate();
  std::vector<Mechanism> used = mechanismsUsed(t, choosePolicy(t, lim), mem);
  EXPECT_EQ(used,
            (std::vector<Mechanism>{Mechanism::Precision, Mechanism::Sparsity, Mechanism::Memory,
                                    Mechanism::ScaleCast, Mechanism::ZeroSkip}));
  auto est = ev.estimateUnbounded(t, choosePolicy(t, lim));
  ASSERT_TRUE(est);
  auto a = ablate(ev, t, lim, 2 * est->iterationSeconds, mem);
  ASSERT_TRUE(a) << a.error().render();
  EXPECT_NEAR(a->totalSpeedup, 2.0, 1e-12);
  EXPECT_NEAR(a->product(), 2.0, 1e-9);
  ASSERT_EQ(a->mechanisms.size(), 5u);
  for (size_t i = 0; i < used.size(); ++i) {
    arch::ArchSpec without = removeMechanisms(t, {used[i]}, mem);
    auto e = ev.estimateUnbounded(without, choosePolicy(without, lim));
    ASSERT_TRUE(e);
    EXPECT_DOUBLE_EQ(a->mechanisms[i].leaveOneOut, e->iterationSeconds / est->iterationSeconds);
  }
  // Removing precision leaves a BF16 unit; removing everything a dense BF16 unit with the
  // reference memory and no scale-cast.
  arch::ArchSpec stripped = removeMechanisms(t, used, mem);
  EXPECT_EQ(stripped.tile.tensor.formats.size(), 1u);
  EXPECT_TRUE(stripped.tile.tensor.sparsityPatterns.empty());
  EXPECT_EQ(stripped.globalBufferMib, 40);
  EXPECT_FALSE(stripped.tile.scaleCast);
  EXPECT_EQ(choosePolicy(stripped, lim).name, "bf16");
  EXPECT_TRUE(arch::parseArchSpec(arch::writeArchSpecYaml(stripped), "<stripped>"));
}

TEST(Explore, BestArchYamlLoadsBackAndReproducesTheStepTime) {
  const ExploreResult &r = gpt2Result();
  std::string dir = tempDir("roundtrip");
  ASSERT_TRUE(writeReports(r, dir));
  auto spec = arch::loadArchSpec(dir + "/best-arch.yaml");
  ASSERT_TRUE(spec) << spec.error().render();
  EXPECT_EQ(*spec, r.bestSpec);
  auto w = TrainingWorkload::build(r.request.workload);
  ASSERT_TRUE(w);
  perf::AccelModel dev(*spec, r.bestPolicy);
  auto e = w->estimate(dev);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->iterationSeconds, r.best.iterationSeconds);
  auto text = readTextFile(dir + "/best-arch.yaml");
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("--workload gpt2 --gpus 8 --micro-batch 4"), std::string::npos) << *text;
  std::filesystem::remove_all(dir);
}

TEST(Explore, HtmlIsSelfContainedWithItsCharts) {
  const ExploreResult &r = gpt2Result();
  std::string html = reportHtml(r);
  EXPECT_FALSE(std::regex_search(html, std::regex(R"((src|href)\s*=\s*["']?https?:)")));
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  size_t svgs = 0;
  for (size_t at = html.find("<svg xmlns"); at != std::string::npos;
       at = html.find("<svg xmlns", at + 1))
    ++svgs;
  EXPECT_GE(svgs, 7u) << "ablation, 2 Pareto fronts, 2 time breakdowns, roofline, area";
  for (const char *title :
       {"Step time vs die area", "Step time vs average power", "Time per op group",
        "Roofline of the best design", "Die area by category", "Speed-up factors"})
    EXPECT_NE(html.find(title), std::string::npos) << title;
}

TEST(Explore, OutputIsDeterministic) {
  ExploreRequest req = gpt2Request();
  req.search.threads = 1;
  auto a = runExplore(req);
  ASSERT_TRUE(a);
  EXPECT_EQ(reportJsonText(*a), reportJsonText(gpt2Result())) << "1 vs 2 threads";
  EXPECT_EQ(reportHtml(*a), reportHtml(gpt2Result()));
  EXPECT_EQ(bestArchYaml(*a), bestArchYaml(gpt2Result()));
}

TEST(Explore, ErrorsNameTheProblem) {
  auto err = [](ExploreRequest r) {
    auto res = runExplore(r);
    EXPECT_FALSE(res);
    return res ? std::string() : res.error().headline();
  };
  ExploreRequest r = gpt2Request();
  r.areaBudgetMm2 = 10;
  EXPECT_TRUE(std::regex_match(
      err(r), std::regex(R"(error\[infeasible-budget\]: no design fits the area budget of 10 mm²: )"
                         R"(the smallest candidate needs [0-9.]+ mm²)")))
      << err(r);
  r = gpt2Request();
  r.areaBudgetMm2 = 800;
  r.transistorBudget = 50e9;
  EXPECT_EQ(err(r), "error[bad-option]: --area-budget and --transistor-budget are exclusive: "
                    "give one silicon budget");
  r = gpt2Request();
  r.baseline = "a80";
  EXPECT_NE(err(r).find("error[unknown-gpu]"), std::string::npos);
  r = gpt2Request();
  r.workload.workload = "gtp2";
  EXPECT_NE(err(r).find("error[unknown-workload]"), std::string::npos);
  r = gpt2Request();
  r.powerBudgetWatts = 5;
  EXPECT_NE(err(r).find("error[infeasible-budget]: no design fits"), std::string::npos) << err(r);
  r = gpt2Request();
  r.powerBudgetWatts = -1;
  EXPECT_EQ(err(r), "error[bad-option]: --power-budget must be positive, got -1");
}

TEST(Explore, TransistorBudgetAndH100Baseline) {
  ExploreRequest r = gpt2Request();
  r.transistorBudget = 54.2e9;
  r.search.maxPoints = 24;
  auto res = runExplore(r);
  ASSERT_TRUE(res) << res.error().render();
  EXPECT_LE(res->best.transistors, 54.2e9);
  EXPECT_EQ(res->budget.areaMm2, 0);
  EXPECT_NE(headline(*res).find("at equal transistor count (54.2 B transistors budget)"),
            std::string::npos);
  r = gpt2Request();
  r.baseline = "h100";
  r.search.maxPoints = 24;
  res = runExplore(r);
  ASSERT_TRUE(res) << res.error().render();
  EXPECT_EQ(res->node, arch::TechNode::N5);
  EXPECT_EQ(res->budget.areaMm2, 814);
  EXPECT_EQ(res->budget.powerWatts, 700);
  EXPECT_EQ(res->bestSpec.technology.node, arch::TechNode::N5);
}

TEST(Explore, DocsShowTheDefaultRunsHeadline) {
  // docs/explore.md quotes the headline of `tessera explore` with no flags; this re-runs
  // that search (same request, point budget, seed) so the page cannot go stale.
  ExploreRequest req;
  req.workload = DefaultWorkload::request();
  req.search.budgetSeconds = 0;
  auto r = runExplore(req);
  ASSERT_TRUE(r) << r.error().render();
  auto doc = readTextFile(TESSERA_SOURCE_DIR "/docs/explore.md");
  ASSERT_TRUE(doc) << doc.error().render();
  EXPECT_NE(doc->find(headline(*r)), std::string::npos)
      << "docs/explore.md should quote, on one line:\n"
      << headline(*r) << "\n\nfull output:\n"
      << summaryText(*r);
}
