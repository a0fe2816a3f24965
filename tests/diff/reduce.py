#!/usr/bin/python3
"""Reduce a design on which one simulator disagrees with the others (docs/sim-verification.md).

Usage:
  tests/diff/reduce.py DESIGN.hw SEED CYCLES ODD [--diff-tests PATH] [--work DIR]

DESIGN.hw  a failing design, e.g. build/tests/diff/work/<batch>/d<k>.hw, or the d0.hw a
           `TESSERA_DIFF_DESIGNS=1` repro run keeps
SEED       the stimulus seed that makes it fail (the design's own seed in a one-design repro)
CYCLES     cycles to run (a few past the first mismatch)
ODD        the simulator that is the odd one out: verilator, icarus, interp or compiled

Replaces operations by `const 0` (halves, quarters, ... then one at a time) for as long as the
same simulator stays the only one that disagrees, running each candidate through
`diff-tests --gtest_filter=Repro.*` with TESSERA_DIFF_FILE. Writes WORK/reduced.hw.
"""
import argparse
import os
import re
import subprocess
import sys

OP = re.compile(r'^(\s+)%(\S+) = (?!input\b|instout\b|const\b)(.*) : i(\d+)$')
COLUMNS = r'(verilator|icarus|interp|compiled|interp-opt)=(0x[0-9a-f]+)'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('design')
    ap.add_argument('seed')
    ap.add_argument('cycles')
    ap.add_argument('odd', choices=['verilator', 'icarus', 'interp', 'compiled'])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument('--diff-tests',
                    default=os.path.join(here, '..', '..', 'build', 'tests', 'diff', 'diff-tests'))
    ap.add_argument('--work', default='reduce-work')
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    lines = open(a.design).read().split('\n')

    def still_fails(candidate):
        path = os.path.abspath(os.path.join(a.work, 'candidate.hw'))
        with open(path, 'w') as f:
            f.write('\n'.join(candidate))
        env = dict(os.environ, TESSERA_DIFF_FILE=path, TESSERA_DIFF_SEED=a.seed,
                   TESSERA_DIFF_CYCLES=a.cycles)
        try:
            out = subprocess.run([a.diff_tests, '--gtest_filter=Repro.*'], env=env,
                                 capture_output=True, text=True, timeout=600).stdout
        except subprocess.TimeoutExpired:
            return False
        for line in out.split('\n'):
            if not line.startswith('mismatch:'):
                continue
            vals = dict(re.findall(COLUMNS, line))
            # Every simulator must have run: a candidate one of them rejects proves nothing.
            if not {'verilator', 'icarus', 'interp', 'compiled'} <= vals.keys():
                continue
            others = {v for k, v in vals.items() if k != a.odd}
            if len(others) == 1 and vals.get(a.odd) not in others:
                return True
        return False

    if not still_fails(lines):
        sys.exit('the design does not show the disagreement with this seed and cycle count')
    ops = [i for i, l in enumerate(lines) if OP.match(l)]
    print(f'{len(ops)} operations', flush=True)
    chunk = max(1, len(ops) // 2)
    while chunk >= 1:
        i = 0
        while i < len(ops):
            part = ops[i:i + chunk]
            trial = list(lines)
            for j in part:
                m = OP.match(trial[j])
                trial[j] = f'{m.group(1)}%{m.group(2)} = const 0 : i{m.group(4)}'
            if still_fails(trial):
                lines = trial
                ops = [o for o in ops if o not in part]
                print(f'replaced {len(part)}, {len(ops)} left', flush=True)
            else:
                i += chunk
        chunk //= 2
    out = os.path.join(a.work, 'reduced.hw')
    with open(out, 'w') as f:
        f.write('\n'.join(lines))
    print(f'{len(ops)} operations left: {out}')


if __name__ == '__main__':
    main()
