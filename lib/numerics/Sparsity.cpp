//===- Sparsity.cpp - N:M structured sparsity (NVIDIA 2:4 and its generalisation) -===//
//
// Compression keeps the n largest magnitudes of each group of m consecutive values along K
// (ties to the lower position, NaN counts as the largest so it is never dropped silently),
// stored in position order with a ceil(log2 m)-bit index per kept value, packed LSB first
// into a continuous bit stream. docs/numerics.md, "N:M sparsity".
//
//===----------------------------------------------------------------------===//
#include "numerics/Numerics.h"

#include <algorithm>
#include <cmath>

namespace tessera::numerics {
namespace {

unsigned indexBits(unsigned m) {
  unsigned bits = 0;
  while ((1u << bits) < m)
    ++bits;
  return bits;
}

double magnitudeKey(Format f, uint32_t code) {
  double v = decode(f, code);
  return std::isnan(v) ? HUGE_VAL : std::fabs(v);
}

} // namespace

NmRow compressNm(std::span<const uint32_t> codes, Format f, unsigned n, unsigned m) {
  NmRow row;
  if (m == 0)
    return row;
  n = std::min(n, m);
  size_t groups = (codes.size() + m - 1) / m; // a short last group reads as padded with +0
  row.values.reserve(groups * n);
  row.index.reserve(groups * n);
  std::vector<unsigned> order(m);
  std::vector<double> key(m);
  for (size_t g = 0; g < groups; ++g) {
    for (unsigned i = 0; i < m; ++i) {
      size_t at = g * m + i;
      key[i] = at < codes.size() ? magnitudeKey(f, codes[at]) : 0.0;
      order[i] = i;
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](unsigned x, unsigned y) { return key[x] > key[y]; });
    std::sort(order.begin(), order.begin() + n);
    for (unsigned j = 0; j < n; ++j) {
      size_t at = g * m + order[j];
      row.values.push_back(at < codes.size() ? codes[at] : 0);
      row.index.push_back(static_cast<uint8_t>(order[j]));
    }
  }
  return row;
}

std::vector<uint32_t> expandNm(const NmRow &row, unsigned n, unsigned m) {
  if (n == 0 || m == 0)
    return {};
  n = std::min(n, m);
  size_t groups = row.values.size() / n;
  std::vector<uint32_t> dense(groups * m, 0);
  for (size_t g = 0; g < groups; ++g)
    for (unsigned j = 0; j < n; ++j) {
      size_t at = g * n + j;
      unsigned pos = at < row.index.size() ? row.index[at] % m : j;
      dense[g * m + pos] = row.values[at];
    }
  return dense;
}

std::vector<uint8_t> packNmIndex(std::span<const uint8_t> index, unsigned m) {
  unsigned bits = indexBits(m);
  std::vector<uint8_t> out((index.size() * bits + 7) / 8, 0);
  size_t pos = 0;
  for (uint8_t v : index)
    for (unsigned b = 0; b < bits; ++b, ++pos)
      if ((v >> b) & 1)
        out[pos / 8] |= static_cast<uint8_t>(1u << (pos % 8));
  return out;
}

std::vector<uint8_t> unpackNmIndex(std::span<const uint8_t> packed, size_t count, unsigned m) {
  unsigned bits = indexBits(m);
  std::vector<uint8_t> out(count, 0);
  size_t pos = 0;
  for (size_t i = 0; i < count; ++i)
    for (unsigned b = 0; b < bits; ++b, ++pos)
      if (pos / 8 < packed.size() && ((packed[pos / 8] >> (pos % 8)) & 1))
        out[i] |= static_cast<uint8_t>(1u << b);
  return out;
}

} // namespace tessera::numerics
