#!/usr/bin/env python3
"""Time the loader and checks on fuzzed input: the strategies of tests/test_fuzz.py, run for
many examples with the time of each one recorded. The target: no example takes 2 s or more.

Plain script, not a test (tests never time anything):

    .venv/bin/python bench/fuzz.py [--examples N] [--seed S] [--out FILE.json]

For each strategy it prints the number of examples, how many loaded cleanly or failed with a
clear error, the mean and slowest wall time, the largest CPU time (what the example costs
whatever else runs on the machine), and a short description of the slowest example. Values of
a full megabyte are included. Any other exception stops the run with its traceback (that is a
bug: add a regression test).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
# The test module's long-run mode: random seeds and megabyte-sized values too.
os.environ.setdefault("HANDOUTS_FUZZ_EXAMPLES", "1")

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from test_fuzz import (  # noqa: E402
    TARGETS,
    exercise,
    make_fuzz_project,
    mutated_examples,
    raw_text,
    written,
    yaml_documents,
)

TARGET_S = 2.0


def _describe(name: str, data: bytes) -> str:
    head = data[:60].decode("utf-8", "backslashreplace")
    return f"{name}, {len(data):,} bytes, starting {head!r}"


class Timer:
    """Times each example and keeps the slowest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.times: list[float] = []
        self.cpu: list[float] = []
        self.clean = self.refused = 0
        self.slowest = (0.0, 0.0, "")  # wall, CPU, what
        self.slowest_files: list[tuple[str, bytes]] = []

    def run(self, files: list[tuple[str, bytes]]) -> None:
        with contextlib.ExitStack() as stack:
            for name, data in files:
                stack.enter_context(written(self.root, name, data))
            start, cpu = time.perf_counter(), time.process_time()
            loaded = exercise(self.root)
            elapsed, used = time.perf_counter() - start, time.process_time() - cpu
        if loaded:
            self.clean += 1
        else:
            self.refused += 1
        self.times.append(elapsed)
        self.cpu.append(used)
        if elapsed > self.slowest[0]:
            self.slowest = (elapsed, used, "; ".join(_describe(n, d) for n, d in files))
            self.slowest_files = list(files)

    def retime_slowest(self, runs: int = 3) -> float:
        """The slowest example again, best of ``runs``: its own cost, without the garbage
        collections, first imports and other processes that may have slowed it once."""
        best = float("inf")
        for _ in range(runs):
            with contextlib.ExitStack() as stack:
                for name, data in self.slowest_files:
                    stack.enter_context(written(self.root, name, data))
                start = time.perf_counter()
                exercise(self.root)
                best = min(best, time.perf_counter() - start)
        return best

    def summary(self) -> dict[str, Any]:
        if not self.times:
            return {"examples": 0}
        ordered = sorted(self.times)
        return {
            "examples": len(self.times),
            "loaded_cleanly": self.clean,
            "clear_errors": self.refused,
            "mean_ms": round(statistics.fmean(self.times) * 1000, 2),
            "p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 1),
            "slowest_s": round(self.slowest[0], 3),
            "slowest_cpu_s": round(self.slowest[1], 3),
            "max_cpu_s": round(max(self.cpu), 3),
            "slowest_example": self.slowest[2][:300],
            "slowest_retimed_s": round(self.retime_slowest(), 3),
            "target_met": self.slowest[0] < TARGET_S,
            "target_met_in_cpu_time": max(self.cpu) < TARGET_S,
        }


def _strategies(timer_for: Callable[[str], Timer]) -> dict[str, Callable[[], None]]:
    targets = st.sampled_from(sorted(TARGETS))

    @given(target=targets, data=yaml_documents())
    def random_documents(target: str, data: bytes) -> None:
        timer_for("random YAML documents").run([(TARGETS[target], data)])

    @given(target=targets, data=raw_text)
    def random_text(target: str, data: bytes) -> None:
        timer_for("random text and bytes").run([(TARGETS[target], data)])

    @given(example=mutated_examples())
    def mutated(example: tuple[str, bytes]) -> None:
        timer_for("mutated example files").run([example])

    return {
        "random YAML documents": random_documents,
        "random text and bytes": random_text,
        "mutated example files": mutated,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=3000, help="examples per strategy")
    parser.add_argument("--seed", type=int, default=None, help="a fixed seed (default: random)")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    args = parser.parse_args(argv)

    root = make_fuzz_project()
    timers: dict[str, Timer] = {}

    def timer_for(name: str) -> Timer:
        return timers.setdefault(name, Timer(root))

    config = settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    load_before = os.getloadavg()
    started = time.perf_counter()
    try:
        for name, test in _strategies(timer_for).items():
            run = config(test)
            if args.seed is not None:
                run = seed(args.seed)(run)
            print(f"{name}: {args.examples} examples ...", file=sys.stderr, flush=True)
            run()
        total = time.perf_counter() - started
        summaries = {name: t.summary() for name, t in timers.items()}  # re-times: needs root
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result = {
        "machine": f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "total_s": round(total, 1),
        "target_s": TARGET_S,
        "strategies": summaries,
    }
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(
        "\nstrategy                   examples  mean ms  p99 ms  slowest s  re-timed s  "
        "max CPU s  target (< 2 s): wall / CPU"
    )
    for name, t in result["strategies"].items():
        print(
            f"{name:<26} {t['examples']:>8} {t['mean_ms']:>8} {t['p99_ms']:>7} "
            f"{t['slowest_s']:>10} {t['slowest_retimed_s']:>11} {t['max_cpu_s']:>10}  "
            f"{'met' if t['target_met'] else 'NOT MET'} / "
            f"{'met' if t['target_met_in_cpu_time'] else 'NOT MET'}"
        )
    return 0 if all(t["target_met"] for t in result["strategies"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
