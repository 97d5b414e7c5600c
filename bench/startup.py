"""CLI start-up time: `hwgen --version`, `hwgen --help` and an argument error, each beside
`python -c "import numpy"` measured in the same run (machines are noisy).

    python bench/startup.py [--repeat 7]
"""
import argparse
import shutil
import statistics
import subprocess
import sys
import time


def timed(argv, repeat):
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True)
        runs.append(time.perf_counter() - start)
    return min(runs), statistics.median(runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    hwgen = shutil.which("hwgen") or sys.exit("hwgen is not on PATH (activate the venv)")
    cases = [("python -c 'import numpy' (reference)", [sys.executable, "-c", "import numpy"]),
             ("hwgen --version", [hwgen, "--version"]),
             ("hwgen --help", [hwgen, "--help"]),
             ("hwgen build (argument error)", [hwgen, "build"])]
    for name, argv in cases:
        best, median = timed(argv, args.repeat)
        print(f"{name:40s} best {best * 1000:6.0f} ms   median {median * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
