//===- Npy.h - numpy .npy / .npz arrays ------------------------------------===//
//
// Reads and writes numpy's array files, the exchange format between the toolchain and
// PyTorch / numpy (model inputs, reference outputs, gradients):
//  - .npy (numpy's NEP 1 format): magic "\x93NUMPY", version 1.0 / 2.0 / 3.0, a Python
//    dict literal header {'descr': ..., 'fortran_order': ..., 'shape': (...)} padded to
//    a multiple of 64 bytes, then the raw data. Only C order is accepted.
//  - .npz: a zip archive of .npy members named `<key>.npy` (np.savez). Stored members are
//    always read; deflated ones (np.savez_compressed) when built with zlib. ZIP64 extra
//    fields (numpy writes them for large members) are understood.
// Writing produces stored members with a fixed timestamp (1980-01-01) and CRC-32, so the
// same arrays give the same bytes.
//
// Errors name the file: `npy-read` (cannot read it, truncated, not an npy / zip file),
// `npy-format` (unsupported or malformed header, Fortran order, bad CRC, data that does
// not match the shape, an element type that cannot be converted).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Expected.h"

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace tessera {

/// One array: numpy's type descriptor ("<f4", "<f8", "<i8", "<i4", "|b1", "|u1", ...),
/// its shape (empty for a scalar) and its bytes in C order (little- or big-endian as the
/// descriptor says; data.size() == elements * item size).
struct NpyArray {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;

  int64_t elements() const;
};

/// Reads a .npy file.
Expected<NpyArray> readNpy(const std::string &path);
/// Parses the bytes of a .npy file; `name` stands for the file in diagnostics.
Expected<NpyArray> parseNpy(std::string_view bytes, const std::string &name);

/// Reads a .npz file: its arrays in file order, keyed by member name without ".npy".
Expected<std::vector<std::pair<std::string, NpyArray>>> readNpz(const std::string &path);
/// Parses the bytes of a .npz file; `name` stands for the file in diagnostics.
Expected<std::vector<std::pair<std::string, NpyArray>>> parseNpz(std::string_view bytes,
                                                                 const std::string &name);

/// The bytes of a .npy file (format version 1.0, or 2.0 when the header needs it).
/// Checks that the dtype is well-formed and the data size matches the shape.
Expected<std::string> serializeNpy(const NpyArray &a);
/// The bytes of a .npz file (stored members in the given order, fixed timestamps).
/// Keys must be non-empty and unique.
Expected<std::string> serializeNpz(const std::vector<std::pair<std::string, NpyArray>> &arrays);

/// Writes a .npy file.
Status writeNpy(const std::string &path, const NpyArray &a);
/// Writes a .npz file deterministically: the same arrays give the same bytes.
Status writeNpz(const std::string &path,
                const std::vector<std::pair<std::string, NpyArray>> &arrays);

/// A little-endian float32 ("<f4") array of `shape` holding `v` (v.size() must equal the
/// element count of `shape`; asserted).
NpyArray npyFromFloats(std::vector<int64_t> shape, std::span<const float> v);

/// The array's values as float32, row-major: f2 / f4 / f8, signed and unsigned integers
/// of 1-8 bytes and booleans, either byte order (f8 and large integers are rounded to
/// nearest). `what` names the array in the `npy-format` error for other types.
Expected<std::vector<float>> npyToFloats(const NpyArray &a, const std::string &what);

/// CRC-32 (ISO-HDLC, the zip / PNG polynomial 0xEDB88320) of `bytes`.
uint32_t crc32(std::span<const uint8_t> bytes);

} // namespace tessera
