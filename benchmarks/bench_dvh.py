"""Wall-time benchmark: ``plancheck dvh`` against dicompyler-core 0.5.6, as whole processes.

Run from the repository root with plancheck's environment:

    .venv/bin/python benchmarks/bench_dvh.py [PLAN_DIR] [--repeat 5] [--repeat-interpolated 3]

It makes (or reuses) a separate environment with dicompyler-core 0.5.6 and
pydicom < 3 (``benchmarks/dicompyler_env.py``), then times, interleaved in one
run, each as a fresh process from start to exit:

(a) ``plancheck dvh PLAN_DIR --format json``: every ROI, default (accurate)
    settings;
(b) dicompyler-core at its defaults, ``dvhcalc.get_dvh(rtss, rtdose, roi)``
    for every ROI of the same structure set (``benchmarks/dicompyler_runner.py``;
    the files are parsed once and the datasets passed to ``get_dvh``);
(c) the same with ``interpolation_resolution=(0.625, 0.625)``, dicompyler-core's
    in-plane supersampling: its setting closest to a partial-volume calculation.

One untimed warm-up run of each comes first (file cache, bytecode). The
medians of the timed runs and the ratios plancheck / dicompyler-core are
printed; the target of the project is a ratio of at most 1/5 against (b).

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, when set in the environment, are
removed for every timed process (both sides alike), since they force a slower
OpenBLAS kernel on current numpy; ``--keep-openblas-env`` keeps them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dicompyler_env import ensure_env, env_versions

REPO_ROOT = Path(__file__).resolve().parents[1]
RUNNER = Path(__file__).resolve().parent / "dicompyler_runner.py"
TARGET_RATIO = 0.2
_OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


@dataclass
class Case:
    label: str
    command: list[str]
    repeat: int
    times_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    n_rois: int | None = None

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)

    @property
    def median_cpu_s(self) -> float:
        return statistics.median(self.cpu_s)


def default_plan_dir() -> Path:
    override = os.environ.get("PLANCHECK_REFERENCE_DATA")
    base = Path(override) if override else REPO_ROOT.parent / "shared" / "data"
    return base / "eclipse_breast_boost"


def find_rt_files(plan_dir: Path) -> tuple[Path, Path]:
    """The RTSTRUCT and the RTDOSE of the folder (headers only)."""
    found: dict[str, Path] = {}
    for path in sorted(p for p in plan_dir.rglob("*") if p.is_file()):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (pydicom.errors.InvalidDicomError, OSError):
            continue
        modality = str(getattr(ds, "Modality", ""))
        if modality in ("RTSTRUCT", "RTDOSE") and modality not in found:
            found[modality] = path
    if set(found) != {"RTSTRUCT", "RTDOSE"}:
        raise SystemExit(f"{plan_dir}: need one RTSTRUCT and one RTDOSE, found {sorted(found)}")
    return found["RTSTRUCT"], found["RTDOSE"]


def plancheck_command(plan_dir: Path) -> list[str]:
    script = Path(sys.executable).parent / "plancheck"
    head = [str(script)] if script.exists() else [sys.executable, "-m", "plancheck"]
    return [*head, "dvh", str(plan_dir), "--format", "json"]


def timed_run(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall time, CPU time (user + system of the process and its children) and stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(
            f"command failed ({proc.returncode}): {' '.join(command)}\n{proc.stderr[-2000:]}"
        )
    return elapsed, cpu, proc.stdout


def count_rois(label: str, stdout: str) -> int:
    doc = json.loads(stdout)
    if label.startswith("plancheck"):
        return _count_plancheck_structures(doc)
    return sum(len(job) for job in doc["results"])


def _count_plancheck_structures(doc: object) -> int:
    """Number of structure entries in a ``plancheck dvh`` JSON document (any nesting)."""
    if isinstance(doc, dict):
        if "metrics" in doc and ("roi_number" in doc or "name" in doc):
            return 1
        return sum(_count_plancheck_structures(v) for v in doc.values())
    if isinstance(doc, list):
        return sum(_count_plancheck_structures(v) for v in doc)
    return 0


def openblas_kernel(python: str, env: dict[str, str]) -> str:
    code = (
        "import numpy\n"
        "try:\n"
        "    from threadpoolctl import threadpool_info\n"
        "    print(', '.join(f\"{i['internal_api']} {i.get('architecture')}\" "
        "for i in threadpool_info()) or 'no BLAS pool')\n"
        "except ImportError:\n"
        "    print('threadpoolctl not installed')\n"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env)
    return out.stdout.strip() or out.stderr.strip()[-200:]


def _fmt_load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{v:.2f}" for v in load)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan_dir", nargs="?", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of (a) and (b)")
    parser.add_argument(
        "--repeat-interpolated", type=int, default=3, help="timed runs of (c); 0 skips it"
    )
    parser.add_argument("--keep-openblas-env", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when plancheck misses the 1/5 target"
    )
    args = parser.parse_args()

    plan_dir = (args.plan_dir or default_plan_dir()).resolve()
    if not plan_dir.is_dir():
        raise SystemExit(f"plan folder not found: {plan_dir} (set PLANCHECK_REFERENCE_DATA)")
    rtstruct, rtdose = find_rt_files(plan_dir)
    dcp_python = str(ensure_env())

    env = dict(os.environ)
    if not args.keep_openblas_env:
        for var in _OPENBLAS_VARS:
            env.pop(var, None)

    workdir = Path(tempfile.mkdtemp(prefix="plancheck-bench-"))
    cases = [
        Case("plancheck dvh (default, partial volume)", plancheck_command(plan_dir), args.repeat)
    ]
    for label, mm, repeat in (
        ("dicompyler-core 0.5.6 (defaults)", None, args.repeat),
        ("dicompyler-core 0.5.6 (interpolation 0.625 mm)", 0.625, args.repeat_interpolated),
    ):
        if repeat <= 0:
            continue
        jobs = workdir / f"jobs-{'default' if mm is None else mm}.json"
        job = {
            "rtstruct": str(rtstruct),
            "rtdose": str(rtdose),
            "rois": None,
            "interpolation_mm": mm,
        }
        jobs.write_text(json.dumps({"jobs": [job]}))
        cases.append(Case(label, [dcp_python, str(RUNNER), str(jobs)], repeat))

    load_before = os.getloadavg()
    print(f"plan folder: {plan_dir}", file=sys.stderr)
    for case in cases:  # warm-up, untimed; also checks that each command works
        _, _, out = timed_run(case.command, env)
        case.n_rois = count_rois(case.label, out)
    for rep in range(max(c.repeat for c in cases)):
        order = cases[rep % len(cases) :] + cases[: rep % len(cases)]
        for case in order:
            if len(case.times_s) < case.repeat:
                elapsed, cpu, _ = timed_run(case.command, env)
                case.times_s.append(elapsed)
                case.cpu_s.append(cpu)
                print(f"  {case.label}: {elapsed:.2f} s (cpu {cpu:.2f} s)", file=sys.stderr)
    shutil.rmtree(workdir, ignore_errors=True)

    load_after = os.getloadavg()
    ours = cases[0]
    print()
    print(
        f"Plan: {plan_dir.name}   machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"load average (1/5/15 min) before: {_fmt_load(load_before)}, after: {_fmt_load(load_after)}"
    )
    print(
        f"BLAS kernel, plancheck env: {openblas_kernel(sys.executable, env)}; "
        f"dicompyler env: {openblas_kernel(dcp_python, env)}"
    )
    print(f"dicompyler env: {env_versions(Path(dcp_python))}")
    print()
    print(
        f"{'process':50} {'ROIs':>5} {'runs':>5} {'median s':>9} {'min s':>7} {'max s':>7} "
        f"{'cpu s':>7}"
    )
    for case in cases:
        print(
            f"{case.label:50} {case.n_rois!s:>5} {len(case.times_s):5d} {case.median_s:9.2f} "
            f"{min(case.times_s):7.2f} {max(case.times_s):7.2f} {case.median_cpu_s:7.2f}"
        )
    print("(cpu s: median user + system time of the process)")
    print()
    ratios = {}
    cpu_ratios = {}
    for case in cases[1:]:
        ratios[case.label] = ours.median_s / case.median_s
        cpu_ratios[case.label] = ours.median_cpu_s / case.median_cpu_s
        print(
            f"plancheck / {case.label}: wall {ratios[case.label]:.3f} "
            f"(dicompyler-core takes {case.median_s / ours.median_s:.1f}x as long), "
            f"cpu {cpu_ratios[case.label]:.3f}"
        )
    default_ratio = ratios.get(cases[1].label) if len(cases) > 1 else None
    met = default_ratio is not None and default_ratio <= TARGET_RATIO
    if default_ratio is not None:
        print(
            f"target plancheck <= {TARGET_RATIO:g} x dicompyler-core defaults (wall time): "
            f"{'met' if met else 'NOT met'}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "plan": plan_dir.name,
                    "cpu_count": os.cpu_count(),
                    "python": platform.python_version(),
                    "load_average_before": list(load_before),
                    "load_average_after": list(load_after),
                    "openblas_env_removed": not args.keep_openblas_env,
                    "dicompyler_env": env_versions(Path(dcp_python)),
                    "cases": [
                        {
                            "label": c.label,
                            "rois": c.n_rois,
                            "times_s": c.times_s,
                            "cpu_s": c.cpu_s,
                            "median_s": c.median_s,
                            "median_cpu_s": c.median_cpu_s,
                        }
                        for c in cases
                    ],
                    "ratios": ratios,
                    "cpu_ratios": cpu_ratios,
                },
                indent=2,
            )
        )
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
