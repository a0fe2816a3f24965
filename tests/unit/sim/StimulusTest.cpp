//===- StimulusTest.cpp - random stream and stimulus files ------------------===//
#include "sim/Stimulus.h"

#include <gtest/gtest.h>

namespace tessera::sim {
namespace {

using hw::BitVec;

TEST(SimStimulus, ResetNames) {
  bool low = true;
  EXPECT_TRUE(isResetName("rst", low));
  EXPECT_FALSE(low);
  EXPECT_TRUE(isResetName("RESET", low));
  EXPECT_FALSE(low);
  EXPECT_TRUE(isResetName("arst", low));
  for (const char *n : {"rst_n", "reset_n", "rstn", "resetn", "arst_n", "Rst_N"}) {
    EXPECT_TRUE(isResetName(n, low)) << n;
    EXPECT_TRUE(low) << n;
  }
  for (const char *n : {"rs", "first", "reset_x", "rst2", "nrst", ""})
    EXPECT_FALSE(isResetName(n, low)) << n;
}

TEST(SimStimulus, RandomStreamIsTheDocumentedSplitmix) {
  std::vector<InputDesc> ins = {{"a", 8}, {"rst", 1}, {"w", 100}, {"rstn", 1}};
  RandomStimulus r(ins, 5);
  uint64_t state = 5;
  for (int c = 0; c < 4; ++c) {
    const auto &v = r.next();
    uint64_t a = splitmix64(state) & 0xff;
    uint64_t w0 = splitmix64(state), w1 = splitmix64(state) & ((uint64_t(1) << 36) - 1);
    EXPECT_EQ(v[0], BitVec(8, a));
    EXPECT_EQ(v[1], BitVec(1, c < 2 ? 1 : 0)) << c;
    EXPECT_EQ(v[2], BitVec::fromWords(100, {w0, w1}));
    EXPECT_EQ(v[3], BitVec(1, c < 2 ? 0 : 1)) << c;
  }
  EXPECT_EQ(r.cycle(), 4u);
  // nextWords() is the same stream.
  RandomStimulus a(ins, 9), b(ins, 9);
  for (int c = 0; c < 3; ++c) {
    const auto &bits = a.next();
    const auto &words = b.nextWords();
    for (size_t i = 0; i < ins.size(); ++i)
      for (size_t k = 0; k < bits[i].numWords(); ++k)
        EXPECT_EQ(words[b.wordOffset(i) + k], bits[i].word(k));
  }
  RandomStimulus noReset(ins, 5, 0);
  EXPECT_EQ(noReset.next()[1], BitVec(1, 0));
}

TEST(SimStimulus, ChecksumIsOrderSensitive) {
  EXPECT_NE(checksumMix(checksumMix(0, 1), 2), checksumMix(checksumMix(0, 2), 1));
  EXPECT_EQ(checksumMix(7, 9), checksumMix(7, 9));
}

const std::vector<InputDesc> kIns = {{"a", 8}, {"b", 4}, {"rst", 1}};
const std::vector<InputDesc> kOuts = {{"y", 8}, {"z", 70}};

TEST(SimStimulus, ParsesValuesExpectationsAndComments) {
  const char *text = "# a comment\n"
                     "inputs a rst\n"
                     "expect z y\n"
                     "\n"
                     "5 1 | 0x10 x   # trailing comment\n"
                     "0xff 0b0|x 7\n"
                     "1_0 0\n";
  auto f = parseStimulus(text, "t.stim", kIns, kOuts);
  ASSERT_TRUE(f.ok()) << f.error().render();
  EXPECT_EQ(f->inputs, (std::vector<std::string>{"a", "rst"}));
  EXPECT_EQ(f->expects, (std::vector<std::string>{"z", "y"}));
  ASSERT_EQ(f->lines.size(), 3u);
  EXPECT_EQ(f->lines[0].lineNo, 5u);
  EXPECT_EQ(f->lines[0].in[0], BitVec(8, 5));
  EXPECT_EQ(f->lines[0].in[1], BitVec(1, 1));
  EXPECT_EQ(f->lines[0].expect[0], BitVec(70, 16));
  EXPECT_FALSE(f->lines[0].expect[1].has_value());
  EXPECT_EQ(f->lines[1].in[0], BitVec(8, 255));
  EXPECT_FALSE(f->lines[1].expect[0].has_value());
  EXPECT_EQ(f->lines[1].expect[1], BitVec(8, 7));
  EXPECT_EQ(f->lines[2].in[0], BitVec(8, 10));
  EXPECT_TRUE(f->lines[2].expect.empty());
}

std::string headline(const char *text) {
  auto f = parseStimulus(text, "bad.stim", kIns, kOuts);
  EXPECT_FALSE(f.ok()) << text;
  return f.ok() ? "" : f.error().headline();
}

TEST(SimStimulus, ErrorsAreLocated) {
  EXPECT_EQ(headline("inputs a bb\n"),
            "bad.stim:1:10: error[unknown-input]: unknown input 'bb'; did you mean 'b'?");
  EXPECT_EQ(headline("inputs a\nexpect q\n"),
            "bad.stim:2:8: error[unknown-output]: unknown output 'q'; did you mean 'y'?");
  EXPECT_EQ(headline("inputs a\n256\n"),
            "bad.stim:2:1: error[bad-value]: '256' is not a 8-bit value for 'a' (decimal, 0x "
            "hex or 0b binary)");
  EXPECT_EQ(headline("inputs a b\n1\n"),
            "bad.stim:2:2: error[value-count]: expected 2 input values, got 1");
  EXPECT_EQ(headline("inputs a\n1 2\n"),
            "bad.stim:2:3: error[value-count]: too many input values: 1 expected");
  EXPECT_EQ(headline("1 2\n"),
            "bad.stim:1:1: error[stimulus-syntax]: expected an 'inputs' line before the first "
            "values");
  EXPECT_EQ(headline("inputs a\n1 | 2\n"),
            "bad.stim:2:3: error[stimulus-syntax]: expected values given but there is no "
            "'expect' line");
  EXPECT_EQ(headline("inputs a\nexpect y\n1 | 2 3\n"),
            "bad.stim:3:7: error[value-count]: too many expected values: 1 expected");
  EXPECT_EQ(headline("inputs a\nexpect y z\n1 | 2\n"),
            "bad.stim:3:6: error[value-count]: expected 2 expected values after '|', got 1");
  EXPECT_EQ(headline("inputs a\nexpect y\n1 | z\n"),
            "bad.stim:3:5: error[bad-value]: 'z' is not a 8-bit value for 'y' (decimal, 0x hex "
            "or 0b binary, or x)");
  EXPECT_EQ(headline("inputs a a\n"), "bad.stim:1:10: error[stimulus-syntax]: 'a' is listed twice");
  EXPECT_EQ(headline("inputs a\n1\ninputs b\n"),
            "bad.stim:3:1: error[stimulus-syntax]: 'inputs' must come before the first value line");
  EXPECT_EQ(headline("# nothing\n"), "bad.stim:1:1: error[stimulus-syntax]: no 'inputs' line");
  EXPECT_EQ(headline("inputs a\n0x1x\n"),
            "bad.stim:2:1: error[bad-value]: '0x1x' is not a 8-bit value for 'a' (decimal, 0x "
            "hex or 0b binary)");
}

} // namespace
} // namespace tessera::sim
