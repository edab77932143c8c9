"""`python -m sim --seeds N [--seed S] [--jobs J] [--real-process]`."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from collections.abc import Iterable, Iterator

from sim.scenario import Result, run_seed


def _one(seed: int) -> Result:
    return run_seed(seed)


def _results(seeds: list[int], jobs: int) -> Iterator[Result]:
    if jobs <= 1:
        yield from (run_seed(s) for s in seeds)
        return
    with multiprocessing.get_context("fork").Pool(jobs, maxtasksperchild=200) as pool:
        yield from pool.imap_unordered(_one, seeds, chunksize=4)


def _summarise(results: Iterable[Result], total: int, started: float) -> int:
    failed: list[Result] = []
    done = sales = crashes = 0
    for result in results:
        done += 1
        sales += result.sales
        crashes += result.crashes
        if not result.ok:
            failed.append(result)
            print(result.report(), flush=True)
        if done % 50 == 0 or done == total:
            print(f"{done}/{total} seeds, {len(failed)} failing, "
                  f"{time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    violations = sum(len(r.violations) for r in failed)
    print(f"sim: {done} seeds, {sales} sales, {crashes} crashes, {violations} violations, "
          f"{elapsed:.1f} s ({done / elapsed:.1f} seeds/s)")
    if failed:
        print("failing seeds: " + " ".join(str(r.seed) for r in sorted(
            failed, key=lambda r: r.seed)))
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim", description=__doc__)
    parser.add_argument("--seeds", type=int, default=50, help="how many seeds to run")
    parser.add_argument("--seed", type=int, help="run this one seed (prints its trace)")
    parser.add_argument("--first", type=int, default=1, help="first seed of the range")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--real-process", action="store_true",
                        help="SIGKILL a real `oneshop run` instead of an in-process engine")
    parser.add_argument("--trace", action="store_true", help="print the trace of every seed")
    args = parser.parse_args(argv)
    if args.real_process:
        from sim.real import run_real

        seeds = [args.seed] if args.seed is not None else list(
            range(args.first, args.first + args.seeds))
        return _summarise((run_real(s) for s in seeds), len(seeds), time.perf_counter())
    if args.seed is not None:
        result = run_seed(args.seed)
        print(result.report())
        return 0 if result.ok else 1
    seeds = list(range(args.first, args.first + args.seeds))
    return _summarise(_results(seeds, args.jobs), len(seeds), time.perf_counter())


if __name__ == "__main__":
    sys.exit(main())
