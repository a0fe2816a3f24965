#!/usr/bin/python3
"""Writes the numpy files tests/unit/support/NpyTest.cpp reads (run from this directory).

Every value is a formula the test recomputes; the files are checked in so that the unit
test needs no Python. Regenerate with `/usr/bin/python3 generate.py` (numpy 1.24) and
review the diff.
"""
import io
import numpy as np

def save(name, a, version=None):
    with open(name, "wb") as f:
        if version is None:
            np.save(f, a)
        else:
            np.lib.format.write_array(f, a, version=version)

base = (np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1).astype("<f4")
save("f4_2x3.npy", base)
save("f4_be.npy", base.astype(">f4"))
save("f8_3.npy", np.array([1 / 3, -2.5, 1e-40], dtype="<f8"))
save("f2_4.npy", np.array([1.5, -0.25, 65504, 6e-8], dtype="<f2"))
save("i8_2x2.npy", np.array([[-3, 7], [1 << 40, -(1 << 20)]], dtype="<i8"))
save("i4_3.npy", np.array([-1, 0, 123456], dtype="<i4"))
save("i2_be.npy", np.array([-2, 300], dtype=">i2"))
save("u1_3.npy", np.array([0, 200, 255], dtype="|u1"))
save("u8_2.npy", np.array([5, 1 << 33], dtype="<u8"))
save("b1_4.npy", np.array([True, False, False, True]))
save("scalar.npy", np.float32(3.5))
save("empty.npy", np.zeros((0, 4), dtype="<f4"))
save("v2.npy", base, version=(2, 0))
save("v3.npy", base, version=(3, 0))
save("fortran.npy", np.asfortranarray(base))
save("structured.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
save("complex.npy", np.array([1 + 2j], dtype="<c8"))
arrays = {"x": base, "target": np.arange(4, dtype="<f8"), "grad/fc1.weight": base.T.copy(),
          "idx": np.array([3, 1], dtype="<i8")}
np.savez("plain.npz", **arrays)
np.savez_compressed("compressed.npz", **arrays)
with open("not_npy.npz", "wb") as f:  # a zip whose member is not an array
    import zipfile
    with zipfile.ZipFile(f, "w") as z:
        z.writestr("readme.txt", "hello")
