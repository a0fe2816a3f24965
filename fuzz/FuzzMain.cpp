//===- FuzzMain.cpp - deterministic mutation driver for the fuzz targets -------===//
//
// Built when libFuzzer is not used (the default gcc build), so `make test` exercises every
// fuzz target: it runs the seed corpus, then N inputs derived from it by seeded random
// mutations (bit flips, byte overwrites, insertions, deletions, truncation, chunk
// duplication) in the style of libFuzzer's mutators. With clang, `-DTESSERA_FUZZ=ON`
// builds the same targets against libFuzzer for coverage-guided runs.
//
//   <fuzzer> [--runs N] [--seed S] corpus-file...
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void mutate(std::string &s, std::mt19937_64 &rng) {
  auto pick = [&](size_t n) { return n ? size_t(rng() % n) : 0; };
  int edits = 1 + int(rng() % 8);
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 6) {
    case 0: // flip a bit
      if (!s.empty())
        s[pick(s.size())] ^= char(1u << (rng() % 8));
      break;
    case 1: // overwrite a byte with an interesting value
      if (!s.empty()) {
        static const unsigned char kVals[] = {0, 1, 0x7f, 0x80, 0xff, '\n', ':', '-', '[', '{'};
        s[pick(s.size())] = char(kVals[rng() % sizeof(kVals)]);
      }
      break;
    case 2: // insert random bytes
      s.insert(pick(s.size() + 1), std::string(1 + rng() % 4, char(rng())));
      break;
    case 3: // delete a range
      if (!s.empty()) {
        size_t at = pick(s.size());
        s.erase(at, 1 + pick(std::min<size_t>(16, s.size() - at)));
      }
      break;
    case 4: // truncate
      s.resize(pick(s.size() + 1));
      break;
    case 5: // duplicate a chunk
      if (!s.empty()) {
        size_t at = pick(s.size()), len = 1 + pick(std::min<size_t>(64, s.size() - at));
        s.insert(pick(s.size() + 1), s.substr(at, len));
      }
      break;
    }
  }
}

int main(int argc, char **argv) {
  long runs = 1000;
  uint64_t seed = 1;
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = std::atol(argv[++i]);
    else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc)
      seed = std::strtoull(argv[++i], nullptr, 10);
    else {
      std::ifstream f(argv[i], std::ios::binary);
      if (!f) {
        std::fprintf(stderr, "cannot read corpus file %s\n", argv[i]);
        return 2;
      }
      corpus.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
  }
  if (corpus.empty())
    corpus.emplace_back();
  for (const std::string &c : corpus)
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(c.data()), c.size());
  std::mt19937_64 rng(seed);
  for (long r = 0; r < runs; ++r) {
    std::string s = corpus[rng() % corpus.size()];
    mutate(s, rng);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(s.data()), s.size());
  }
  std::printf("%ld mutated inputs from %zu seeds: no crash\n", runs, corpus.size());
  return 0;
}
