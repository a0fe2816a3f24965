//===- NpyTest.cpp - .npy / .npz against files written by numpy -----------===//
//
// tests/data/npy/ holds files written by numpy 1.24 (tests/data/npy/generate.py, whose
// values are formulas recomputed here). The writer is checked byte for byte against
// np.save, and numpy reads back what writeNpz wrote. Truncated and corrupted inputs must
// give a diagnostic naming the file, never a crash.
//
//===----------------------------------------------------------------------===//

#include "support/Npy.h"

#include "support/FileIO.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <sys/wait.h>
#include <tuple>

namespace tessera {
namespace {

std::string dataPath(const std::string &f) {
  return std::string(TESSERA_SOURCE_DIR) + "/tests/data/npy/" + f;
}

std::vector<float> floatsOf(const std::string &file) {
  auto a = readNpy(dataPath(file));
  EXPECT_TRUE(a.ok()) << (a.ok() ? "" : a.error().render());
  if (!a.ok())
    return {};
  auto v = npyToFloats(*a, file);
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().render());
  return v.ok() ? *v : std::vector<float>{};
}

std::vector<float> baseValues() { return {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f}; }

/// A scratch directory under the build tree, unique per process.
std::string scratch(const std::string &name) {
  std::string d = std::string(TESSERA_BINARY_DIR) + "/npy-test-" + std::to_string(::getpid());
  std::filesystem::create_directories(d);
  return d + "/" + name;
}

TEST(Npy, ReadsFloat32) {
  auto a = readNpy(dataPath("f4_2x3.npy"));
  ASSERT_TRUE(a.ok()) << a.error().render();
  EXPECT_EQ(a->dtype, "<f4");
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a->elements(), 6);
  ASSERT_EQ(a->data.size(), 24u);
  EXPECT_EQ(floatsOf("f4_2x3.npy"), baseValues());
}

TEST(Npy, ConvertsEveryNumericType) {
  EXPECT_EQ(floatsOf("f4_be.npy"), baseValues());
  EXPECT_EQ(floatsOf("f8_3.npy"), (std::vector<float>{float(1.0 / 3), -2.5f, float(1e-40)}));
  EXPECT_EQ(floatsOf("f2_4.npy"),
            (std::vector<float>{1.5f, -0.25f, 65504.0f, float(std::ldexp(1.0, -24))}));
  EXPECT_EQ(floatsOf("i8_2x2.npy"),
            (std::vector<float>{-3.0f, 7.0f, float(int64_t(1) << 40), -float(1 << 20)}));
  EXPECT_EQ(floatsOf("i4_3.npy"), (std::vector<float>{-1.0f, 0.0f, 123456.0f}));
  EXPECT_EQ(floatsOf("i2_be.npy"), (std::vector<float>{-2.0f, 300.0f}));
  EXPECT_EQ(floatsOf("u1_3.npy"), (std::vector<float>{0.0f, 200.0f, 255.0f}));
  EXPECT_EQ(floatsOf("u8_2.npy"), (std::vector<float>{5.0f, float(uint64_t(1) << 33)}));
  EXPECT_EQ(floatsOf("b1_4.npy"), (std::vector<float>{1.0f, 0.0f, 0.0f, 1.0f}));
}

TEST(Npy, ScalarsEmptyArraysAndHeaderVersions) {
  auto s = readNpy(dataPath("scalar.npy"));
  ASSERT_TRUE(s.ok()) << s.error().render();
  EXPECT_TRUE(s->shape.empty());
  EXPECT_EQ(floatsOf("scalar.npy"), std::vector<float>{3.5f});
  auto e = readNpy(dataPath("empty.npy"));
  ASSERT_TRUE(e.ok()) << e.error().render();
  EXPECT_EQ(e->shape, (std::vector<int64_t>{0, 4}));
  EXPECT_TRUE(e->data.empty());
  EXPECT_EQ(floatsOf("v2.npy"), baseValues());
  EXPECT_EQ(floatsOf("v3.npy"), baseValues());
}

template <typename T> Status errorOf(const Expected<T> &e) {
  return e.ok() ? Status::success() : Status(e.error());
}

TEST(Npy, RejectsWhatItCannotRepresent) {
  struct Case {
    const char *file, *id, *text;
  } cases[] = {
      {"fortran.npy", "npy-format", "Fortran-order"},
      {"structured.npy", "npy-format", "structured dtypes"},
      {"not_npy.npz", "npy-format", "readme.txt"},
      {"missing.npy", "npy-read", "cannot read"},
      {"plain.npz", "npy-read", "magic"}, // a zip is not an .npy file
  };
  for (const Case &c : cases) {
    bool zip = std::string(c.file).ends_with(".npz") && std::string(c.id) != "npy-read";
    Status r = zip ? errorOf(readNpz(dataPath(c.file))) : errorOf(readNpy(dataPath(c.file)));
    ASSERT_FALSE(r.ok()) << c.file;
    EXPECT_EQ(r.error().id, c.id) << r.error().render();
    EXPECT_NE(r.error().message.find(c.text), std::string::npos) << r.error().render();
    EXPECT_NE(r.error().headline().find(c.file), std::string::npos) << r.error().render();
  }
  auto cplx = readNpy(dataPath("complex.npy"));
  ASSERT_TRUE(cplx.ok()) << cplx.error().render();
  auto v = npyToFloats(*cplx, "z");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().id, "npy-format");
  EXPECT_NE(v.error().message.find("<c8"), std::string::npos);
}

void expectNpzContents(const std::vector<std::pair<std::string, NpyArray>> &arrays) {
  ASSERT_EQ(arrays.size(), 4u);
  EXPECT_EQ(arrays[0].first, "x"); // file order = np.savez's keyword order
  EXPECT_EQ(arrays[1].first, "target");
  EXPECT_EQ(arrays[2].first, "grad/fc1.weight");
  EXPECT_EQ(arrays[3].first, "idx");
  EXPECT_EQ(*npyToFloats(arrays[0].second, "x"), baseValues());
  EXPECT_EQ(arrays[1].second.dtype, "<f8");
  EXPECT_EQ(*npyToFloats(arrays[1].second, "target"), (std::vector<float>{0, 1, 2, 3}));
  EXPECT_EQ(arrays[2].second.shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(*npyToFloats(arrays[2].second, "g"),
            (std::vector<float>{-1.0f, 0.5f, -0.5f, 1.0f, 0.0f, 1.5f}));
  EXPECT_EQ(*npyToFloats(arrays[3].second, "idx"), (std::vector<float>{3, 1}));
}

TEST(Npz, ReadsStoredAndDeflated) {
  auto plain = readNpz(dataPath("plain.npz"));
  ASSERT_TRUE(plain.ok()) << plain.error().render();
  expectNpzContents(*plain);
  auto deflated = readNpz(dataPath("compressed.npz"));
  if (!deflated.ok()) {
    // Built without zlib: the error must say what to do instead.
    EXPECT_NE(deflated.error().message.find("np.savez"), std::string::npos);
    GTEST_SKIP() << "no zlib in this build";
  }
  expectNpzContents(*deflated);
}

TEST(Npy, WriterMatchesNumpyByteForByte) {
  for (const char *file : {"f4_2x3.npy", "f8_3.npy", "i8_2x2.npy", "b1_4.npy", "scalar.npy",
                           "empty.npy", "f4_be.npy"}) {
    auto orig = readTextFile(dataPath(file));
    ASSERT_TRUE(orig.ok());
    auto a = parseNpy(*orig, file);
    ASSERT_TRUE(a.ok()) << a.error().render();
    auto bytes = serializeNpy(*a);
    ASSERT_TRUE(bytes.ok()) << bytes.error().render();
    EXPECT_EQ(*bytes, *orig) << file;
  }
}

TEST(Npz, WritesDeterministicallyAndRoundTrips) {
  std::vector<float> w{0.25f, -7.0f, 3e-20f, 1e30f};
  std::vector<std::pair<std::string, NpyArray>> arrays;
  arrays.emplace_back("loss", npyFromFloats({}, std::span<const float>(w.data(), 1)));
  arrays.emplace_back("grad/fc1.weight", npyFromFloats({2, 2}, w));
  arrays.emplace_back("param/fc1.bias", npyFromFloats({4}, w));
  auto a = serializeNpz(arrays), b = serializeNpz(arrays);
  ASSERT_TRUE(a.ok()) << a.error().render();
  EXPECT_EQ(*a, *b);
  auto back = parseNpz(*a, "mem.npz");
  ASSERT_TRUE(back.ok()) << back.error().render();
  ASSERT_EQ(back->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*back)[i].first, arrays[i].first);
    EXPECT_EQ((*back)[i].second.shape, arrays[i].second.shape);
    EXPECT_EQ((*back)[i].second.data, arrays[i].second.data);
  }
  // Duplicate and empty keys are refused.
  arrays.emplace_back("loss", npyFromFloats({}, std::span<const float>(w.data(), 1)));
  EXPECT_FALSE(serializeNpz(arrays).ok());
  NpyArray bad = npyFromFloats({2, 2}, w);
  bad.shape = {5};
  EXPECT_FALSE(serializeNpy(bad).ok());
}

TEST(Npz, NumpyReadsWhatWeWrite) {
  std::vector<float> w{0.25f, -7.0f, 3e-20f, 1e30f, -0.0f, 42.0f};
  std::string path = scratch("ours.npz");
  ASSERT_TRUE(
      writeNpz(path, {{"a", npyFromFloats({2, 3}, w)}, {"grad/x.y", npyFromFloats({6}, w)}}).ok());
  std::string cmd = std::string("'") + TESSERA_PYTHON +
                    "' -c \"import sys, numpy as np; d = np.load(sys.argv[1]); "
                    "assert list(d.keys()) == ['a', 'grad/x.y'], list(d.keys()); "
                    "w = np.array([0.25, -7.0, 3e-20, 1e30, -0.0, 42.0], dtype=np.float32); "
                    "assert d['a'].dtype == np.float32 and d['a'].shape == (2, 3); "
                    "assert (d['a'].ravel() == w).all() and (d['grad/x.y'] == w).all()\" '" +
                    path + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

/// tests/python/compare.py on files this writer made: the exit code and the key it names.
TEST(Npz, ComparePyJudgesOurFiles) {
  std::vector<float> ref{1.0f, -2.0f, 4.0f, 0.5f}, near = ref, far = ref;
  near[2] += 4.0f * 1e-6f; // max_rel_err 1e-6 (relative to max |ref| = 4)
  far[1] += 4.0f * 1e-3f;
  std::string dir = std::filesystem::path(scratch("x")).parent_path().string();
  ASSERT_TRUE(writeNpz(dir + "/ref.npz", {{"loss", npyFromFloats({}, std::span(ref).first(1))},
                                          {"grad/w", npyFromFloats({2, 2}, ref)}})
                  .ok());
  ASSERT_TRUE(writeNpz(dir + "/near.npz", {{"loss", npyFromFloats({1}, std::span(ref).first(1))},
                                           {"grad/w", npyFromFloats({2, 2}, near)}})
                  .ok());
  ASSERT_TRUE(writeNpz(dir + "/far.npz", {{"grad/w", npyFromFloats({2, 2}, far)}}).ok());
  auto run = [&](const std::string &out, const std::string &args) {
    std::string log = dir + "/compare.log";
    std::string cmd = std::string("'") + TESSERA_PYTHON + "' '" + TESSERA_SOURCE_DIR +
                      "/tests/python/compare.py' '" + dir + "/ref.npz' '" + dir + "/" + out + "' " +
                      args + " > '" + log + "' 2>&1";
    int rc = std::system(cmd.c_str());
    auto text = readTextFile(log);
    return std::make_pair(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, text.ok() ? *text : "");
  };
  auto [rc, text] = run("near.npz", "--rtol 1e-5");
  EXPECT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("\"ok\": true"), std::string::npos) << text;
  std::tie(rc, text) = run("near.npz", "--rtol 1e-7");
  EXPECT_EQ(rc, 1) << text;
  EXPECT_NE(text.find("'grad/w'"), std::string::npos) << text;
  std::tie(rc, text) = run("far.npz", "--rtol 1e-2 --keys grad/");
  EXPECT_EQ(rc, 0) << text; // 1e-3 within 1e-2; loss not selected
  std::tie(rc, text) = run("far.npz", "--rtol 1e-2");
  EXPECT_EQ(rc, 1) << text; // loss is missing
  EXPECT_NE(text.find("'loss'"), std::string::npos) << text;
  std::tie(rc, text) = run("far.npz", "--rtol 1e-2 --keys param/");
  EXPECT_EQ(rc, 2) << text; // nothing to compare is a usage error, not a pass

  // AdamW step 1 moves a parameter by lr * g / (|g| + eps): where the reference gradient
  // is 0, any rounding noise in it may move the parameter by up to lr.
  std::vector<float> grad{0.5f, 0.0f, -0.25f, 1e-9f}, param{0.2f, 0.1f, -0.3f, 0.05f},
      moved = param;
  moved[1] -= 1e-3f;
  ASSERT_TRUE(writeNpz(dir + "/step.npz", {{"grad/w", npyFromFloats({4}, grad)},
                                           {"param/w", npyFromFloats({4}, param)}})
                  .ok());
  ASSERT_TRUE(writeNpz(dir + "/ref.npz", {{"grad/w", npyFromFloats({4}, grad)},
                                          {"param/w", npyFromFloats({4}, moved)}})
                  .ok());
  std::tie(rc, text) = run("step.npz", "--rtol 1e-5");
  EXPECT_EQ(rc, 1) << text;
  std::tie(rc, text) = run("step.npz", "--rtol 1e-5 --adamw 1e-3 1e-8");
  EXPECT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("within the AdamW bound"), std::string::npos) << text;
  moved[0] -= 1e-3f; // a large gradient leaves no such freedom
  ASSERT_TRUE(writeNpz(dir + "/ref.npz", {{"grad/w", npyFromFloats({4}, grad)},
                                          {"param/w", npyFromFloats({4}, moved)}})
                  .ok());
  std::tie(rc, text) = run("step.npz", "--rtol 1e-5 --adamw 1e-3 1e-8");
  EXPECT_EQ(rc, 1) << text;
  EXPECT_NE(text.find("beyond the AdamW bound"), std::string::npos) << text;
  std::filesystem::remove_all(dir);
}

/// Every prefix and many corrupted copies of a valid file: a value or a diagnostic that
/// names the input, never a crash.
template <typename Parse> void fuzz(const std::string &file, Parse parse) {
  auto orig = readTextFile(dataPath(file));
  ASSERT_TRUE(orig.ok());
  for (size_t n = 0; n < orig->size(); ++n) {
    auto r = parse(std::string_view(*orig).substr(0, n), "cut.bin");
    ASSERT_FALSE(r.ok()) << file << " cut at " << n;
    EXPECT_NE(r.error().headline().find("cut.bin"), std::string::npos) << r.error().headline();
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 3000; ++i) {
    std::string s = *orig;
    int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; ++k)
      s[rng() % s.size()] = char(rng() & 0xff);
    auto r = parse(s, "bad.bin");
    if (!r.ok()) {
      EXPECT_NE(r.error().headline().find("bad.bin"), std::string::npos) << r.error().headline();
    }
  }
}

TEST(Npy, TruncatedAndCorruptInputsGiveErrors) {
  fuzz("f4_2x3.npy", [](std::string_view b, const std::string &n) { return parseNpy(b, n); });
  fuzz("v2.npy", [](std::string_view b, const std::string &n) { return parseNpy(b, n); });
  fuzz("plain.npz", [](std::string_view b, const std::string &n) { return parseNpz(b, n); });
  fuzz("compressed.npz", [](std::string_view b, const std::string &n) { return parseNpz(b, n); });
}

TEST(Npz, DetectsCorruptData) {
  auto orig = readTextFile(dataPath("plain.npz"));
  ASSERT_TRUE(orig.ok());
  std::string s = *orig;
  // The last byte of the first member's data ("x": a 128-byte header, 6 floats); its
  // CRC-32 no longer matches.
  size_t at = s.find("\x93NUMPY") + 128 + 23;
  s[at] = char(s[at] ^ 0x40);
  auto r = parseNpz(s, "flip.npz");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().id, "npy-format");
  EXPECT_NE(r.error().message.find("CRC-32"), std::string::npos) << r.error().render();
}

TEST(Npy, Crc32KnownValue) {
  const char *s = "123456789";
  EXPECT_EQ(crc32({reinterpret_cast<const uint8_t *>(s), 9}), 0xCBF43926u);
}

} // namespace
} // namespace tessera
