#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""cold.py RUNS CMD...: median wall time, in ms, of RUNS fresh processes.

Each run starts CMD anew (stdout to /dev/null) and is timed with
time.perf_counter around subprocess.run; with hyperfine on PATH, hyperfine
does the timing instead (-N: no shell in between). Prints the median.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def main():
    if len(sys.argv) < 3 or not sys.argv[1].isdigit():
        sys.exit("usage: cold.py RUNS CMD...")
    runs, cmd = int(sys.argv[1]), sys.argv[2:]
    if shutil.which("hyperfine"):
        with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
            subprocess.run(["hyperfine", "-N", "--style", "none", "--warmup", "3",
                            "--runs", str(runs), "--export-json", tmp.name,
                            " ".join(cmd)], check=True, stdout=subprocess.DEVNULL)
            times = json.load(open(tmp.name))["results"][0]["times"]
    else:
        times = []
        for i in range(runs + 3):            # 3 warm-up runs, not counted
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
            if i >= 3:
                times.append(time.perf_counter() - t0)
    print("%.3f" % (statistics.median(times) * 1000))


if __name__ == "__main__":
    main()
