//===- TrainReportTest.cpp - runtime/Report.h and runtime/TrainRun.h ----------===//
//
// The training-run report (final losses, gaps against fp32 or a policy's own reference,
// deterministic files, non-finite losses) and the data-set reader's checks. The training
// loop itself runs end to end in tests/cli/train.cmake.
//
//===----------------------------------------------------------------------===//
#include "runtime/Report.h"
#include "runtime/TrainRun.h"

#include "support/FileIO.h"
#include "support/Npy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

using namespace tessera;
using namespace tessera::runtime;

namespace {

std::string tempDir(const std::string &name) {
  std::filesystem::path p = std::filesystem::path(::testing::TempDir()) / ("tessera-" + name);
  std::filesystem::remove_all(p);
  return p.string();
}

TrainReport sampleReport() {
  TrainReport rep;
  rep.model = "mlp";
  rep.modelPath = "mlp.onnx";
  rep.arch = "tessera-train-7nm";
  rep.dataPath = "mlp.dataset.npz";
  rep.steps = 4;
  rep.batches = 2;
  rep.finalWindow = 2;
  rep.series.push_back({"fp32", {4, 3, 2, 1}, 100, 1000, 0.5, 5});
  rep.series.push_back({"bf16", {4, 3, 2.2, 1.2}, 50, 500, 0.2, 5});
  rep.series.push_back({"mxfp8-sparse", {4, 3.5, 3.1, 2.9}, 80, 900, 0.3, 5});
  rep.reference = {4, 3, 2, 1};
  rep.referencePath = "mlp.curve.npz";
  rep.policyReferences.push_back({"mxfp8-sparse", {4, 3.4, 3.0, 3.0}});
  return rep;
}

} // namespace

TEST(TrainReport, FinalLossIsTheMeanOfTheLastSteps) {
  EXPECT_DOUBLE_EQ(finalLoss({5, 4, 3, 2, 1}, 2), 1.5);
  EXPECT_DOUBLE_EQ(finalLoss({5, 4, 3}, 10), 4.0); // fewer steps than the window: all
  EXPECT_DOUBLE_EQ(finalLoss({}, 10), 0.0);
}

TEST(TrainReport, GapIsAgainstFp32OrThePolicysOwnReference) {
  TrainReport rep = sampleReport();
  double gap = 0;
  ASSERT_TRUE(finalGapPct(rep, rep.series[1], gap)); // bf16: (1.7 - 1.5) / 1.5
  EXPECT_NEAR(gap, 100.0 * 0.2 / 1.5, 1e-9);
  ASSERT_TRUE(finalGapPct(rep, rep.series[2], gap)); // its own curve: (3.0 - 3.0) / 3.0
  EXPECT_NEAR(gap, 0.0, 1e-12);
  // Without an fp32 run the dense reference is the base.
  rep.series.erase(rep.series.begin());
  ASSERT_TRUE(finalGapPct(rep, rep.series[0], gap));
  EXPECT_NEAR(gap, 100.0 * 0.2 / 1.5, 1e-9);
  // Nothing to compare with.
  rep.reference.clear();
  EXPECT_FALSE(finalGapPct(rep, rep.series[0], gap));
}

TEST(TrainReport, FilesAreDeterministicAndHoldEveryCurve) {
  TrainReport rep = sampleReport();
  std::string a = tempDir("train-report-a"), b = tempDir("train-report-b");
  ASSERT_TRUE(writeTrainReport(rep, a).ok());
  ASSERT_TRUE(writeTrainReport(rep, b).ok());
  auto ja = readTextFile(a + "/report.json"), jb = readTextFile(b + "/report.json");
  auto ha = readTextFile(a + "/report.html"), hb = readTextFile(b + "/report.html");
  ASSERT_TRUE(ja.ok() && jb.ok() && ha.ok() && hb.ok());
  EXPECT_EQ(*ja, *jb);
  EXPECT_EQ(*ha, *hb);
  EXPECT_NE(ja->find("\"policy\": \"mxfp8-sparse\""), std::string::npos);
  EXPECT_NE(ja->find("\"mxfp8-sparse\": {"), std::string::npos); // its own reference
  size_t lines = 0;
  for (size_t p = ha->find("<polyline"); p != std::string::npos; p = ha->find("<polyline", p + 1))
    ++lines;
  EXPECT_EQ(lines, 5u); // three policies, PyTorch's curve, the pruned model's curve
  EXPECT_NE(ha->find("PyTorch fp32, mxfp8-sparse model"), std::string::npos);
}

TEST(TrainReport, DivergedLossesAreNullInJson) {
  TrainReport rep = sampleReport();
  rep.series[1].losses = {4, NAN, INFINITY, 1};
  std::string d = tempDir("train-report-nan");
  ASSERT_TRUE(writeTrainReport(rep, d).ok());
  auto j = readTextFile(d + "/report.json");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->find("nan"), std::string::npos);
  EXPECT_EQ(j->find("inf"), std::string::npos);
  EXPECT_NE(j->find("null"), std::string::npos);
}

TEST(TrainData, LeadingDimsMustAgree) {
  std::string d = tempDir("train-data");
  std::filesystem::create_directories(d);
  std::vector<float> x(3 * 4, 1.0f), t(2 * 2, 0.0f);
  ASSERT_TRUE(writeNpz(d + "/bad.npz", {{"x", npyFromFloats({3, 4}, x)},
                                        {"target", npyFromFloats({2, 2}, t)}})
                  .ok());
  auto bad = loadTrainData(d + "/bad.npz");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().id, "bad-data");
  EXPECT_NE(bad.error().render().find("bad.npz"), std::string::npos);
  EXPECT_NE(bad.error().message.find("'target' has 2 batches"), std::string::npos);

  std::vector<float> t3(3 * 2, 0.5f);
  ASSERT_TRUE(writeNpz(d + "/good.npz", {{"x", npyFromFloats({3, 4}, x)},
                                         {"target", npyFromFloats({3, 2}, t3)}})
                  .ok());
  auto good = loadTrainData(d + "/good.npz");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->batches, 3u);
  ASSERT_NE(good->find("target"), nullptr);
  EXPECT_EQ(good->find("target")->values.size(), 6u);
  EXPECT_EQ(good->find("y"), nullptr);
}
