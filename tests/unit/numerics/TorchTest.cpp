//===- TorchTest.cpp - FP32 -> BF16 / FP16 (and FP8 where torch has it) vs PyTorch -===//
//
// Writes a few hundred thousand FP32 bit patterns (every BF16 value with its ties and
// neighbours, every FP16 value, midpoint and neighbours, FP32 subnormals, random
// patterns), casts them with /usr/bin/python3 + torch (tests/data/numerics/torch_cast.py)
// and compares bit for bit with convertFromFp32(..., Nearest, Ieee). NaN inputs only need
// a NaN out: torch keeps NaN payloads, the cast unit emits the canonical NaN.
//
//===----------------------------------------------------------------------===//
#include "NumericsTestUtil.h"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

using namespace tessera::numerics;
using namespace tessera::numerics::testutil;

namespace {

namespace fs = std::filesystem;

std::vector<uint32_t> probePatterns() {
  std::vector<uint32_t> v;
  for (uint32_t c = 0; c < 65536; ++c) { // BF16: exact, tie, just below / above the tie
    uint32_t hi = c << 16;
    for (uint32_t lo : {0x0000u, 0x8000u, 0x7FFFu, 0x8001u, 0x0001u})
      v.push_back(hi | lo);
  }
  for (uint32_t c = 0; c < 0x7C00; ++c) { // FP16: value, midpoint, +-1 FP32 ulp of it
    float x = decodeFloat(Format::FP16, c);
    float next = c == 0x7BFF ? 65536.0f : decodeFloat(Format::FP16, c + 1);
    float mid = (x + next) / 2;
    for (float y : {x, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, HUGE_VALF)}) {
      v.push_back(bitsOf(y));
      v.push_back(bitsOf(-y));
    }
  }
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    v.push_back(rng() & 0x807FFFFF); // FP32 subnormals
    v.push_back(rng());
  }
  return v;
}

template <typename T> std::vector<T> readAll(const fs::path &p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<T> out(bytes.size() / sizeof(T));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
  return out;
}

TEST(Torch, Fp32ToBf16Fp16AndFp8MatchPyTorch) {
  fs::path dir = fs::path(TESSERA_BINARY_DIR) / "numerics-torch";
  fs::create_directories(dir);
  std::vector<uint32_t> in = probePatterns();
  {
    std::ofstream f(dir / "in.u32", std::ios::binary);
    f.write(reinterpret_cast<const char *>(in.data()), std::streamsize(in.size() * 4));
  }
  fs::path script = fs::path(TESSERA_SOURCE_DIR) / "tests/data/numerics/torch_cast.py";
  std::string cmd = std::string("'") + TESSERA_PYTHON + "' '" + script.string() + "' '" +
                    (dir / "in.u32").string() + "' '" + dir.string() + "' > '" +
                    (dir / "log.txt").string() + "' 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream logf(dir / "log.txt");
  std::string log((std::istreambuf_iterator<char>(logf)), std::istreambuf_iterator<char>());
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 3)
    GTEST_SKIP() << "torch is not installed for " << TESSERA_PYTHON << ": " << log;
  ASSERT_EQ(rc, 0) << log;
  std::cout << "[ torch    ] " << log;

  struct Case {
    Format f;
    const char *file;
  };
  for (Case c : {Case{Format::BF16, "bf16.u16"}, Case{Format::FP16, "fp16.u16"}}) {
    std::vector<uint16_t> ref = readAll<uint16_t>(dir / c.file);
    ASSERT_EQ(ref.size(), in.size()) << c.file;
    size_t mismatches = 0, compared = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      uint32_t got = convertFromFp32(in[i], c.f, Rounding::Nearest, Overflow::Ieee);
      if (std::isnan(floatOf(in[i]))) {
        EXPECT_TRUE(std::isnan(decode(c.f, ref[i])));
        EXPECT_TRUE(std::isnan(decode(c.f, got)));
        continue;
      }
      ++compared;
      if (got != ref[i] && ++mismatches <= 10)
        ADD_FAILURE() << formatInfo(c.f).name << ": fp32 0x" << std::hex << in[i] << " ours 0x"
                      << got << " torch 0x" << ref[i];
    }
    EXPECT_EQ(mismatches, 0u) << formatInfo(c.f).name;
    EXPECT_GT(compared, 400000u);
  }

  // FP8: torch >= 2.1 has float8_e4m3fn / float8_e5m2. torch's E4M3 cast gives NaN past
  // 464 where the cast unit saturates (docs/numerics.md), so E4M3 is compared below that.
  if (!fs::exists(dir / "e4m3.u8")) {
    std::cout << "[ torch    ] this torch has no float8 dtypes: FP8 is checked against the "
                 "reference tables only (FormatsTest)\n";
    return;
  }
  std::vector<uint8_t> e4 = readAll<uint8_t>(dir / "e4m3.u8"),
                       e5 = readAll<uint8_t>(dir / "e5m2.u8");
  ASSERT_EQ(e4.size(), in.size());
  ASSERT_EQ(e5.size(), in.size());
  size_t bad = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    float x = floatOf(in[i]);
    if (std::isnan(x))
      continue;
    if (std::fabs(x) < 464.0f &&
        convertFromFp32(in[i], Format::E4M3, Rounding::Nearest, Overflow::Saturate) != e4[i])
      ++bad;
    if (convertFromFp32(in[i], Format::E5M2, Rounding::Nearest, Overflow::Ieee) != e5[i])
      ++bad;
  }
  EXPECT_EQ(bad, 0u);
}

} // namespace
