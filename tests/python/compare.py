#!/usr/bin/python3
"""Compare arrays of an .npz against a reference .npz.

Usage: compare.py REF.npz OUT.npz --rtol X [--keys PREFIX ...] [--adamw LR EPS]
                  [--lowp LOWP.npz C]

For every array of REF whose key starts with one of the PREFIXes (every key when --keys
is not given), takes the array of OUT with the same key and computes, in float64,

    max_rel_err = max|out - ref| / max(max|ref|, tiny)

(tiny = the smallest normal float32, so an all-zero reference is compared absolutely):
the error relative to the array's largest magnitude, the measure a numerics bound for a
whole tensor is stated in. Prints one line per key and the worst key, then a summary JSON
line {"ok", "rtol", "keys", "worst_key", "worst_max_rel_err", "failed"}.

--adamw LR EPS: the parameters after one AdamW step (torch_reference.py's
`param/<name>`) are judged by the gradient they came from. At step 1 the update is
p1 = p0 (1 - LR wd) - LR u(g) with u(g) = g / (|g| + EPS), so where |g| is near EPS (or
0: attention's key bias has an analytically zero gradient) p1 depends on rounding noise
in g: PyTorch FP32 and FP64 differ by 4e-2 of max|p1| on the encoder's in_proj_bias.
With the option, `param/<name>` passes when, element by element,
    |out - ref| <= X max|ref| + LR max(|u(g + d) - u(g)|, |u(g - d) - u(g)|),
    g = REF's grad/<name>, d = X max|g|,
i.e. when it is what a gradient within the same tolerance X gives; the printed
max_rel_err stays the plain one and the line says "(within the AdamW bound)".

--lowp LOWP.npz C: the low-precision bound (docs/compiler.md, "Low-precision bounds").
LOWP holds PyTorch's own reduced-precision run of the same computation
(torch_reference.py --precision: every GEMM operand rounded to BF16 / MXFP8), and a key
passes when
    max_rel_err(OUT, REF) <= C max_rel_err(LOWP, REF) + X,
i.e. when the error is at most C times what the format itself costs in PyTorch, plus the
floor X; each line also prints LOWP's error and the ratio. With --adamw, a parameter
beyond its bound is judged by the AdamW rule with its gradient's tolerance.

Exits 0 when every key is within X (or its --lowp tolerance); 1 when a key is missing from OUT, its shape differs
(shapes equal once their size-1 dims are dropped count as the same: a conv bias
[O] held as [O, 1, 1], a scalar loss returned as [1]), a value is NaN / infinite
where the reference is finite, or an error exceeds X (each failing key is named on
stderr); 2 on usage errors (unreadable file, no key of REF matches the prefixes).
"""

import argparse
import json
import math
import sys

import numpy as np

TINY = float(np.finfo(np.float32).tiny)


def load(path):
    try:
        with np.load(path, allow_pickle=False) as d:
            return {k: d[k] for k in d.files}
    except Exception as e:  # noqa: BLE001 - any reason the file cannot be read
        sys.stderr.write("compare.py: cannot read %s: %s\n" % (path, e))
        sys.exit(2)


def same_shape(a, b):
    """Equal shapes, or equal once size-1 dims are dropped (the same row-major order):
    the importer holds a conv bias [O] as [O, 1, 1], a loss () may come back as [1]."""
    if a.shape == b.shape:
        return True
    return [d for d in a.shape if d != 1] == [d for d in b.shape if d != 1]


def max_rel_err(ref, out):
    ref = ref.astype(np.float64)
    out = out.astype(np.float64)
    if ref.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(ref))), TINY) if np.all(np.isfinite(ref)) else math.inf
    diff = np.abs(out.reshape(ref.shape) - ref)
    if not np.all(np.isfinite(diff)):
        # Equal infinities compare equal; anything else non-finite is a failure.
        bad = ~np.isfinite(diff) & ~((out.reshape(ref.shape) == ref))
        if np.any(bad):
            return math.inf
        diff = np.where(np.isfinite(diff), diff, 0.0)
    return float(np.max(diff)) / scale if math.isfinite(scale) else float(np.max(diff))


def adamw_bound(ref, grad, rtol, lr, eps):
    """Per-element allowed |out - ref| for an AdamW step-1 parameter (see --adamw)."""
    g = grad.astype(np.float64).reshape(ref.shape)
    d = rtol * float(np.max(np.abs(g))) if g.size else 0.0
    u = lambda v: v / (np.abs(v) + eps)  # noqa: E731
    dev = np.maximum(np.abs(u(g + d) - u(g)), np.abs(u(g - d) - u(g)))
    return rtol * max(float(np.max(np.abs(ref))), TINY) + lr * dev


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ref")
    ap.add_argument("out")
    ap.add_argument("--rtol", type=float, required=True)
    ap.add_argument("--keys", nargs="+", metavar="PREFIX")
    ap.add_argument("--adamw", nargs=2, type=float, metavar=("LR", "EPS"),
                    help="judge param/<name> by the AdamW step-1 bound from grad/<name>")
    ap.add_argument("--lowp", nargs=2, metavar=("LOWP.npz", "C"),
                    help="per key tolerance C * max_rel_err(LOWP, REF) + rtol")
    args = ap.parse_args()

    ref = load(args.ref)
    out = load(args.out)
    keys = [k for k in ref if not args.keys or any(k.startswith(p) for p in args.keys)]
    if not keys:
        sys.stderr.write("compare.py: no key of %s matches %s\n" % (args.ref, args.keys))
        return 2

    lowp, factor = None, None
    if args.lowp:
        lowp = load(args.lowp[0])
        try:
            factor = float(args.lowp[1])
        except ValueError:
            sys.stderr.write("compare.py: --lowp C must be a number, not %r\n" % args.lowp[1])
            return 2

    def tolerance(key):
        """The key's tolerance: --rtol, or with --lowp C times LOWP's error plus --rtol."""
        if lowp is None:
            return args.rtol, None
        if key not in lowp or not same_shape(ref[key], lowp[key]):
            return args.rtol, None
        e = max_rel_err(ref[key], lowp[key])
        return factor * e + args.rtol, e

    failed = []
    worst_key, worst = None, -1.0
    width = max(len(k) for k in keys)
    for k in keys:
        if k not in out:
            print("%-*s  MISSING from %s" % (width, k, args.out))
            failed.append(k)
            continue
        r, o = ref[k], out[k]
        if not same_shape(r, o):
            print("%-*s  SHAPE %s, reference %s" % (width, k, list(o.shape), list(r.shape)))
            failed.append(k)
            continue
        err = max_rel_err(r, o)
        tol, lowp_err = tolerance(k)
        lnote = ""
        if lowp is not None:
            lnote = "  (no LOWP array: rtol only)" if lowp_err is None else \
                "  (lowp %.3e, tol %.3e, ratio %.2f)" % (lowp_err, tol,
                                                         err / max(lowp_err, TINY))
        ok = err <= tol
        note = ""
        gkey = "grad/" + k[len("param/"):]
        if not ok and args.adamw and k.startswith("param/") and gkey in ref:
            bound = adamw_bound(r, ref[gkey], tolerance(gkey)[0], args.adamw[0], args.adamw[1])
            diff = np.abs(o.astype(np.float64).reshape(r.shape) - r.astype(np.float64))
            ok = bool(np.all(diff <= bound))
            note = "  (within the AdamW bound)" if ok else "  (beyond the AdamW bound)"
        print("%-*s  max_rel_err = %.3e%s%s%s" % (width, k, err,
                                                   "" if ok or note else "  > %g" % tol, lnote,
                                                   note))
        if not ok:
            failed.append(k)
        if err > worst:
            worst_key, worst = k, err
    print("worst: %s max_rel_err = %.3e (rtol %g)" % (worst_key, max(worst, 0.0), args.rtol))
    summary = {"ok": not failed, "rtol": args.rtol, "keys": len(keys), "worst_key": worst_key,
               "worst_max_rel_err": worst if math.isfinite(worst) else "inf",
               "failed": failed, "adamw": args.adamw}
    if args.lowp:
        summary["lowp"] = [args.lowp[0], factor]
    print(json.dumps(summary, sort_keys=True))
    for k in failed:
        sys.stderr.write("compare.py: key '%s' fails (%s vs %s)\n" % (k, args.out, args.ref))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
