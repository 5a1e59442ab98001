#!/usr/bin/env python3
"""Lumen and Lua 5.4 on the six kernels, run alternately.

hyperfine (bench/lumen/vm.sh) runs all of one command's repetitions, then
all of the other's; on a shared machine a burst of load can fall on one
side only. Here each round runs Lumen then Lua back to back, so both see
the same conditions, and the table reports the fastest run (the least
disturbed) and the median of each.

    bench/lumen/vm-alternate.py [--rounds N] [--baseline BIN] [KERNEL...]

Run from anywhere; it builds the release binary first. `--baseline BIN`
adds another `lumen` binary (an older build) to every round, run just
before the new one, to compare a change in the same conditions.
"""

import argparse
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
KERNELS = ["fib", "loop", "calls", "sieve", "strings", "records"]


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--baseline", help="an older lumen binary to run turn about with the new one")
    ap.add_argument("kernels", nargs="*", default=KERNELS)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "lumen-cli"], cwd=ROOT, check=True)
    lumen = ROOT / "target/release/lumen"
    kdir = ROOT / "bench/lumen/kernels"
    base = args.baseline
    if base:
        print("| kernel | baseline min | Lumen min | Lua min | baseline median | Lumen median"
              " | Lua median | Lumen / baseline (min) | Lumen / Lua (min) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    else:
        print("| kernel | Lumen min | Lua min | Lumen median | Lua median | Lumen / Lua (min) |")
        print("|---|---:|---:|---:|---:|---:|")
    for k in args.kernels:
        a = [str(lumen), "run", str(kdir / f"{k}.lm")]
        b = ["lua5.4", str(kdir / f"{k}.lua")]
        c = [base, "run", str(kdir / f"{k}.lm")] if base else None
        out_a = subprocess.run(a, capture_output=True, text=True, check=True).stdout
        out_b = subprocess.run(b, capture_output=True, text=True, check=True).stdout
        if out_a != out_b:
            sys.exit(f"vm-alternate.py: {k}: results differ: {out_a!r} vs {out_b!r}")
        if c and subprocess.run(c, capture_output=True, text=True, check=True).stdout != out_a:
            sys.exit(f"vm-alternate.py: {k}: the baseline's result differs")
        ta, tb, tc = [], [], []
        for _ in range(args.rounds):
            if c:
                tc.append(timed(c))
            ta.append(timed(a))
            tb.append(timed(b))
        med = statistics.median
        if c:
            print(
                f"| {k} | {min(tc):.1f} ms | {min(ta):.1f} ms | {min(tb):.1f} ms | {med(tc):.1f} ms"
                f" | {med(ta):.1f} ms | {med(tb):.1f} ms | {min(ta) / min(tc):.2f} | {min(ta) / min(tb):.2f} |"
            )
        else:
            print(
                f"| {k} | {min(ta):.1f} ms | {min(tb):.1f} ms | {med(ta):.1f} ms"
                f" | {med(tb):.1f} ms | {min(ta) / min(tb):.2f} |"
            )

if __name__ == "__main__":
    main()
