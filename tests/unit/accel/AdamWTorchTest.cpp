//===- AdamWTorchTest.cpp - vadamw on the golden model vs torch.optim.AdamW ------===//
//
// The golden model's `vadamw` (docs/isa.md 5.4: each operation rounded to FP32 in the
// vector unit's order) against one torch.optim.AdamW step (tests/data/accel/golden/
// torch_adamw.py, run with Debian's python3 + torch) on the same FP32 parameters,
// gradients and optimizer state. The two differ only by rounding order, so the results
// must agree within a few FP32 ulps; the bound and the measured maximum are printed.
//
//===----------------------------------------------------------------------===//
#include "accel/Assembler.h"
#include "accel/Golden.h"
#include "arch/ArchSpec.h"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace tessera;
using namespace tessera::accel;

namespace {

namespace fs = std::filesystem;

uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float floatOf(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
/// Distance in units in the last place between two finite floats of the same sign.
int64_t ulps(float a, float b) {
  auto key = [](float x) {
    int32_t i = int32_t(bitsOf(x));
    return i < 0 ? int64_t(INT32_MIN) - i : int64_t(i);
  };
  return std::llabs(key(a) - key(b));
}

TEST(AdamWTorch, GoldenStepMatchesPyTorchWithinUlps) {
  auto spec = arch::loadArchSpec(std::string(TESSERA_SOURCE_DIR) + "/examples/arch/small-test.yaml");
  ASSERT_TRUE(spec.ok());
  TileConfig cfg = TileConfig::fromArchSpec(*spec);
  const unsigned n = 48; // p, g, m, v: 192 of the 256 ACC words
  const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
  const int step = 7;
  fs::path dir = fs::path(TESSERA_BINARY_DIR) / "accel-adamw-torch";
  fs::create_directories(dir);
  std::mt19937 rng(2024);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int rounds = 10; // 480 parameters, 48 per program (the tile's ACC holds 256 words)
  std::vector<float> P, G, M, V, outP, outM, outV;
  for (int round = 0; round < rounds; ++round) {
    std::vector<float> p(n), g(n), m(n), v(n);
    for (unsigned i = 0; i < n; ++i) {
      p[i] = normal(rng);
      g[i] = 0.1f * normal(rng);
      m[i] = 0.05f * normal(rng);
      v[i] = 0.01f * std::fabs(normal(rng)) + 1e-6f;
    }
    // Golden model: load p, g, m, v into ACC, one vadamw, store them back.
    std::vector<uint8_t> dram(4 * 4 * n + 4096, 0);
    std::vector<float> all;
    for (auto *vec : {&p, &g, &m, &v})
      all.insert(all.end(), vec->begin(), vec->end());
    std::memcpy(dram.data(), all.data(), all.size() * 4);
    std::ostringstream s;
    auto fli = [&](int r, double x) {
      s << "fli f" << r << ", bits(" << bitsOf(float(x)) << ")\n";
    };
    fli(0, lr);
    fli(1, b1);
    fli(2, 1 - b1);
    fli(3, b2);
    fli(4, 1 - b2);
    fli(5, eps);
    fli(6, 1 - lr * wd);
    fli(7, 1 / (1 - std::pow(b1, step)));
    fli(8, 1 / (1 - std::pow(b2, step)));
    s << "ldacc acc=0, dram=0, rows=1, cols=" << 4 * n << ", gstride=0, lstride=0, src=fp32, push_next\n"
      << "csync pop_prev\n"
      << "vadamw p=0, g=" << n << ", mv=" << 2 * n << ", n=" << n << ", hp=f0, push_next\n"
      << "st acc=0, dram=" << 4 * 4 * n << ", rows=1, cols=" << 4 * n
      << ", gstride=0, lstride=0, fmt=fp32, pop_prev\nhalt\n";
    auto prog = assemble(s.str(), "adamw.s", &cfg);
    ASSERT_TRUE(prog.ok()) << prog.error().render();
    auto r = runGolden(cfg, *prog, dram);
    ASSERT_TRUE(r.ok()) << r.error().render();
    std::vector<float> out(4 * n);
    std::memcpy(out.data(), dram.data() + 4 * 4 * n, out.size() * 4);
    EXPECT_EQ(std::memcmp(out.data() + n, g.data(), 4 * n), 0) << "the gradient is not written";
    P.insert(P.end(), p.begin(), p.end());
    G.insert(G.end(), g.begin(), g.end());
    M.insert(M.end(), m.begin(), m.end());
    V.insert(V.end(), v.begin(), v.end());
    outP.insert(outP.end(), out.begin(), out.begin() + n);
    outM.insert(outM.end(), out.begin() + 2 * n, out.begin() + 3 * n);
    outV.insert(outV.end(), out.begin() + 3 * n, out.begin() + 4 * n);
  }
  // PyTorch, one step on all of them (elementwise, same hyperparameters).
  const size_t total = P.size();
  {
    std::ofstream f(dir / "in.f32", std::ios::binary);
    for (auto *vec : {&P, &G, &M, &V})
      f.write(reinterpret_cast<const char *>(vec->data()), std::streamsize(total * 4));
  }
  fs::path script = fs::path(TESSERA_SOURCE_DIR) / "tests/data/accel/golden/torch_adamw.py";
  std::ostringstream cmd;
  cmd << "'" << TESSERA_PYTHON << "' '" << script.string() << "' '" << (dir / "in.f32").string()
      << "' '" << (dir / "out.f32").string() << "' " << total << " " << lr << " " << b1 << " "
      << b2 << " " << eps << " " << wd << " " << step << " > '" << (dir / "log.txt").string()
      << "' 2>&1";
  int rc = std::system(cmd.str().c_str());
  std::ifstream logf(dir / "log.txt");
  std::string log((std::istreambuf_iterator<char>(logf)), std::istreambuf_iterator<char>());
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 3)
    GTEST_SKIP() << "torch is not installed for " << TESSERA_PYTHON << ": " << log;
  ASSERT_EQ(rc, 0) << log;
  std::ifstream tf(dir / "out.f32", std::ios::binary);
  std::vector<float> ref(3 * total);
  tf.read(reinterpret_cast<char *>(ref.data()), std::streamsize(ref.size() * 4));
  ASSERT_TRUE(tf.good()) << log;
  int64_t worst[3] = {0, 0, 0};
  size_t compared = 0;
  for (size_t i = 0; i < total; ++i) {
    float ours[3] = {outP[i], outM[i], outV[i]};
    // m' = b1 m + (1 - b1) g is a sum that can cancel: PyTorch computes it as
    // m + (1 - b1)(g - m) (lerp), so compare in ulps of its largest term.
    float mScale = std::max(float(b1) * std::fabs(M[i]), float(1 - b1) * std::fabs(G[i]));
    for (int k = 0; k < 3; ++k) {
      float theirs = ref[k * total + i];
      ASSERT_TRUE(std::isfinite(ours[k]) && std::isfinite(theirs));
      int64_t d = ulps(ours[k], theirs);
      if (k == 1) {
        float ulp = std::nextafter(mScale, HUGE_VALF) - mScale;
        d = int64_t(std::ceil(std::fabs(ours[k] - theirs) / ulp));
      }
      worst[k] = std::max(worst[k], d);
    }
    ++compared;
  }
  std::printf("[ torch    ] AdamW step %d, %zu parameters: max ulp distance p %lld, m %lld (in "
              "ulps of its largest term), v %lld\n",
              step, compared, (long long)worst[0], (long long)worst[1], (long long)worst[2]);
  // p moves by lr * update (~1e-3 of its size), so rounding of the update reaches p only in
  // its last bit; m and v are two products and a sum in both, grouped differently (m as a
  // lerp in PyTorch, measured in ulps of its largest term because the sum can cancel).
  EXPECT_LE(worst[0], 2);
  EXPECT_LE(worst[1], 4);
  EXPECT_LE(worst[2], 4);
}

} // namespace
