#!/usr/bin/env python3
"""The front end on inputs no person writes: one flat shape at 10^4, 3*10^4
and 10^5 terms (operators, postfix operations, continued lines,
interpolations in one string, pipes). Times `lumen check` and `lumen fmt`
(best of three, release build) so near-linear growth can be read off.

    bench/lumen/pathological.py        prints a markdown table
"""
import os, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LUMEN = os.path.join(ROOT, "target", "release", "lumen")

def shapes(n):
    return {
        "`1 + 1 + ...`": "let x = " + " + ".join(["1"] * n),
        "`a and a and ...`": "let x = " + " and ".join(["true"] * n),
        '`"a" ++ "a" ++ ...`': "let x = " + " ++ ".join(['"a"'] * n),
        "`x[0][0]...`": "let x = [[0]]" + "[0]" * n,
        "lines `- 1`": "let x = 1\n" + "\n".join(["    - 1"] * n),
        "interpolations in one string": 'let x = "' + "{1}" * n + '"',
        "`1 |> f |> f ...`": "let x = 1" + " |> f" * n,
        "`1 or 1 or ...` (n errors)": "let c = " + " or ".join(["1"] * n),
    }

def doc(body):
    return ("# bench\n\n```lumen\ncell f(a: Int) -> Int\n  return a\nend\n\n"
            "cell main() -> Null\n  " + body + "\n  print(\"done\")\nend\n```\n")

def best(cmd):
    t = float("inf")
    for _ in range(3):
        s = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t = min(t, time.perf_counter() - s)
    return t * 1000

def main():
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "lumen-cli"], cwd=ROOT, check=True)
    sizes = [10_000, 30_000, 100_000]
    rows = {}
    with tempfile.TemporaryDirectory() as d:
        for n in sizes:
            for name, body in shapes(n).items():
                f = os.path.join(d, f"s{n}.lm.md")
                with open(f, "w") as fh:
                    fh.write(doc(body))
                rows.setdefault(name, []).append((best([LUMEN, "check", f]), best([LUMEN, "fmt", f])))
    print("| shape | check 10^4 | 3x10^4 | 10^5 | fmt 10^4 | 3x10^4 | 10^5 | check 10^5 / 10^4 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        c = [f"{x[0]:.0f} ms" for x in r]
        m = [f"{x[1]:.0f} ms" for x in r]
        print(f"| {name} | {' | '.join(c)} | {' | '.join(m)} | {r[2][0] / r[0][0]:.1f}x |")

if __name__ == "__main__":
    sys.exit(main())
