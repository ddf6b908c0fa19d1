"""Start-up time of the ``plancheck`` command: ``--version``, ``--help`` and imports.

Run from the repository root with plancheck's environment::

    .venv/bin/python benchmarks/bench_startup.py [--runs 20] [--check] [--json FILE]

Like hyperfine: each command runs ``--runs`` times as a fresh process (after
2 untimed warm-up runs), interleaved so that changes in the machine's load
touch every command alike; the median, mean, minimum and maximum wall time
are printed with the load average before and after. A bare interpreter
(``python -c pass``) is the floor. Then ``python -X importtime`` shows where
the import time of ``plancheck dvh PLAN --format json`` goes (the
packages it imports and their cumulative import time, from one run).

``--check`` exits 1 when the median of ``--version`` or ``--help`` is 0.3 s
or more (the project's target).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchenv import describe, timing_env

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = REPO_ROOT / "sample_plans" / "spine_sib_pass"
TARGET_S = 0.3


def plancheck_head() -> list[str]:
    script = Path(sys.executable).parent / "plancheck"
    return [str(script)] if script.exists() else [sys.executable, "-m", "plancheck"]


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(command)}\n{proc.stderr[-2000:]!r}")
    return elapsed


def import_profile(command: list[str], env: dict[str, str]) -> list[tuple[str, float]]:
    """(top-level package, seconds) spent importing each package's own modules in one run.

    From ``python -X importtime``: the self time of every module, summed per
    top-level package (``numpy``, ``pydicom``, ``plancheck``, ...), so the
    figures add up to the whole import time.
    """
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *command], capture_output=True, text=True, env=env
    )
    totals: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        self_us, _cumulative, name = line[len("import time:") :].split("|")
        try:
            seconds = int(self_us) / 1e6
        except ValueError:
            continue  # the header line
        top = name.strip().split(".")[0]
        totals[top] = totals.get(top, 0.0) + seconds
    return sorted(totals.items(), key=lambda kv: -kv[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--check", action="store_true", help=f"exit 1 unless medians < {TARGET_S} s")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    head = plancheck_head()
    cases = {
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
        "plancheck --version": [*head, "--version"],
        "plancheck --help": [*head, "--help"],
        "python -c 'import plancheck'": [sys.executable, "-c", "import plancheck"],
        "python -c 'import numpy, pydicom'": [sys.executable, "-c", "import numpy, pydicom"],
    }
    times: dict[str, list[float]] = {label: [] for label in cases}
    workdir = tempfile.TemporaryDirectory(prefix="plancheck-bench-")
    env = timing_env(Path(workdir.name) / "pycache")
    load_before = os.getloadavg()
    for command in cases.values():  # warm-up: file cache, bytecode
        timed(command, env)
        timed(command, env)
    labels = list(cases)
    for run in range(args.runs):
        shift = run % len(labels)
        for label in labels[shift:] + labels[:shift]:
            times[label].append(timed(cases[label], env))
    load_after = os.getloadavg()

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average (1/5/15 min) before {'/'.join(f'{v:.2f}' for v in load_before)}, "
        f"after {'/'.join(f'{v:.2f}' for v in load_after)}"
    )
    print(f"timed processes: {describe(env)}")
    print(f"{'command':36} {'runs':>4} {'median s':>9} {'mean s':>7} {'min s':>6} {'max s':>6}")
    figures = {}
    for label, values in times.items():
        figures[label] = {
            "median_s": statistics.median(values),
            "mean_s": statistics.fmean(values),
            "min_s": min(values),
            "max_s": max(values),
        }
        f = figures[label]
        print(
            f"{label:36} {len(values):4d} {f['median_s']:9.3f} {f['mean_s']:7.3f} "
            f"{f['min_s']:6.3f} {f['max_s']:6.3f}"
        )

    profile_cmd = ["-m", "plancheck", "dvh", str(SAMPLE), "--format", "json"]
    import_profile(profile_cmd, env)  # compiles what the warm-up runs did not import
    profile = import_profile(profile_cmd, env)
    workdir.cleanup()
    total = sum(s for _, s in profile)
    print()
    print(
        f"import time of 'plancheck dvh {SAMPLE.name} --format json' by package "
        "(one run, -X importtime, self times):"
    )
    for top, seconds in profile[:12]:
        print(f"  {top:28} {seconds:6.3f} s")
    print(f"  {'total':28} {total:6.3f} s")

    met = all(figures[k]["median_s"] < TARGET_S for k in ("plancheck --version", "plancheck --help"))
    print()
    print(f"target: --version and --help under {TARGET_S} s (median): {'met' if met else 'NOT met'}")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "cpu_count": os.cpu_count(),
                    "python": platform.python_version(),
                    "load_average_before": list(load_before),
                    "load_average_after": list(load_after),
                    "runs": args.runs,
                    "commands": figures,
                    "dvh_json_imports_s": dict(profile),
                },
                indent=2,
            )
            + "\n"
        )
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
