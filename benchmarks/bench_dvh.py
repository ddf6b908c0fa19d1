"""Wall and CPU time: ``plancheck dvh`` against dicompyler-core 0.5.6, as whole processes.

Run from the repository root with plancheck's environment:

    .venv/bin/python benchmarks/bench_dvh.py [PLAN_DIR ...] [--repeat 3] [--repeat-interpolated 1]

Plans: the given folders, or by default the Eclipse plan
(``eclipse_breast_boost``) and every folder of ``real_exports/`` in the shared
reference data (``../shared/data`` or ``$PLANCHECK_REFERENCE_DATA``).

It makes (or reuses) a separate environment with dicompyler-core 0.5.6 and
pydicom < 3 (``benchmarks/dicompyler_env.py``), then times, for each plan and
interleaved in one run, each as a fresh process from start to exit:

(a) ``plancheck dvh PLAN_DIR --format json``: every ROI, default (accurate)
    settings;
(b) dicompyler-core at its defaults, ``dvhcalc.get_dvh(rtss, rtdose, roi)``
    for every ROI of the same structure set (``benchmarks/dicompyler_runner.py``;
    the files are parsed once and the datasets passed to ``get_dvh``);
(c) the same with ``interpolation_resolution`` set, dicompyler-core's in-plane
    supersampling: its setting closest to a partial-volume calculation (the
    closest to plancheck's accuracy). It accepts only the dose grid's pixel
    spacing divided by a power of 2, so each plan gets the coarsest such
    spacing not above 0.625 mm (2.5 mm grid: 0.625 mm; 3 mm: 0.375 mm; 4 mm:
    0.5 mm).

One untimed warm-up run of each comes first (file cache, bytecode). Medians
of wall and CPU time (user + system of the process and its children) and the
ratios plancheck / dicompyler-core are printed per plan, with the machine's
load average. Targets: plancheck's wall time at most 1/10 of dicompyler-core's
defaults on the Eclipse plan and 1/5 on every other plan; ``--check`` exits 1
when one is missed (or when a process fails).

Every timed process, of both tools alike, caches its bytecode in a folder of
the benchmark's own and runs without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
(``benchmarks/benchenv.py``; ``--keep-openblas-env`` keeps those).
"""

from __future__ import annotations

import argparse
import json
import math
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
from benchenv import describe, timing_env
from dicompyler_env import ensure_env, env_versions

REPO_ROOT = Path(__file__).resolve().parents[1]
RUNNER = Path(__file__).resolve().parent / "dicompyler_runner.py"
ECLIPSE = "eclipse_breast_boost"
TARGET_ECLIPSE = 0.1
TARGET_OTHER = 0.2
PLANCHECK = "plancheck dvh"
DEFAULTS = "dicompyler-core defaults"
INTERPOLATED = "dicompyler-core interpolated"
FINEST_MM = 0.625


@dataclass
class Case:
    label: str
    command: list[str]
    repeat: int
    times_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    n_rois: int | None = None
    error: str | None = None

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)

    @property
    def median_cpu_s(self) -> float:
        return statistics.median(self.cpu_s)

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.times_s)


@dataclass
class PlanBench:
    plan_dir: Path
    cases: list[Case]
    interpolation_mm: list[float]

    @property
    def name(self) -> str:
        return self.plan_dir.name

    @property
    def target(self) -> float:
        return TARGET_ECLIPSE if self.name == ECLIPSE else TARGET_OTHER

    def case(self, label: str) -> Case | None:
        return next((c for c in self.cases if c.label == label), None)

    def ratio(self, label: str, cpu: bool = False) -> float | None:
        ours, theirs = self.case(PLANCHECK), self.case(label)
        if ours is None or theirs is None or not ours.ok or not theirs.ok:
            return None
        if cpu:
            return ours.median_cpu_s / theirs.median_cpu_s
        return ours.median_s / theirs.median_s

    @property
    def met(self) -> bool:
        ratio = self.ratio(DEFAULTS)
        return ratio is not None and ratio <= self.target


def reference_dir() -> Path:
    override = os.environ.get("PLANCHECK_REFERENCE_DATA")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "data"


def default_plan_dirs() -> list[Path]:
    base = reference_dir()
    plans = [base / ECLIPSE]
    exports = base / "real_exports"
    if exports.is_dir():
        plans += sorted(p for p in exports.iterdir() if p.is_dir())
    return plans


def interpolation_mm(pixel_spacing_mm: float) -> float:
    """The coarsest spacing ``pixel_spacing / 2**n`` not above 0.625 mm (dicompyler-core's rule)."""
    n = max(0, math.ceil(math.log2(pixel_spacing_mm / FINEST_MM) - 1e-9))
    return pixel_spacing_mm / 2**n


def dose_pixel_spacing_mm(rtdose: Path) -> tuple[float, float]:
    """(row, column) spacing of an RTDOSE, from its header."""
    ds = pydicom.dcmread(rtdose, stop_before_pixels=True)
    row, col = (float(v) for v in ds.PixelSpacing)
    return row, col


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


def timed_run(command: list[str], env: dict[str, str]) -> tuple[float, float, str, str | None]:
    """Wall time, CPU time (user + system of the process and its children), stdout, error."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    error = None
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        error = f"exit {proc.returncode}: {lines[-1][-300:] if lines else 'no message'}"
    return elapsed, cpu, proc.stdout, error


def count_rois(label: str, stdout: str) -> int:
    doc = json.loads(stdout)
    if label == PLANCHECK:
        return len(doc["structures"])
    return sum(len(job) for job in doc["results"])


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


def _fmt_load(load: tuple[float, float, float] | list[float]) -> str:
    return "/".join(f"{v:.2f}" for v in load)


def _fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def make_plan(
    plan_dir: Path, workdir: Path, dcp_python: str, repeat: int, repeat_interpolated: int
) -> PlanBench:
    rtstruct, rtdose = find_rt_files(plan_dir)
    fine = [interpolation_mm(s) for s in dose_pixel_spacing_mm(rtdose)]
    cases = [Case(PLANCHECK, plancheck_command(plan_dir), repeat)]
    for label, mm, n in ((DEFAULTS, None, repeat), (INTERPOLATED, fine, repeat_interpolated)):
        if n <= 0:
            continue
        jobs = workdir / f"{plan_dir.name}-{'default' if mm is None else 'interpolated'}.json"
        job = {"rtstruct": str(rtstruct), "rtdose": str(rtdose), "rois": None, "interpolation_mm": mm}
        jobs.write_text(json.dumps({"jobs": [job]}))
        cases.append(Case(label, [dcp_python, str(RUNNER), str(jobs)], n))
    return PlanBench(plan_dir, cases, fine)


def run_plan(bench: PlanBench, env: dict[str, str]) -> None:
    """Warm up, then time the cases interleaved (each round starts with another case)."""
    print(f"plan {bench.name}", file=sys.stderr)
    for case in bench.cases:  # warm-up, untimed; also checks that each command works
        _, _, out, error = timed_run(case.command, env)
        if error is not None:
            case.error = error
            print(f"  {case.label}: FAILED {error}", file=sys.stderr)
            continue
        case.n_rois = count_rois(case.label, out)
    live = [c for c in bench.cases if c.error is None]
    for rep in range(max((c.repeat for c in live), default=0)):
        order = live[rep % len(live) :] + live[: rep % len(live)]
        for case in order:
            if len(case.times_s) < case.repeat and case.error is None:
                elapsed, cpu, _, error = timed_run(case.command, env)
                if error is not None:
                    case.error = error
                    continue
                case.times_s.append(elapsed)
                case.cpu_s.append(cpu)
                print(f"  {case.label}: {elapsed:.2f} s (cpu {cpu:.2f} s)", file=sys.stderr)


def print_report(
    plans: list[PlanBench], load_before: tuple[float, ...], load_after: tuple[float, ...],
    env: dict[str, str], dcp_python: str,
) -> None:
    print()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average (1/5/15 min) before "
        f"{_fmt_load(load_before)}, after {_fmt_load(load_after)}"
    )
    print(
        f"BLAS kernel, plancheck env: {openblas_kernel(sys.executable, env)}; "
        f"dicompyler env: {openblas_kernel(dcp_python, env)}"
    )
    print(f"dicompyler env: {env_versions(Path(dcp_python))}")
    print(f"timed processes: {describe(env)}")
    print()
    print(f"{'plan':30} {'process':34} {'ROIs':>4} {'runs':>4} {'wall s':>7} {'cpu s':>7}")
    for bench in plans:
        for case in bench.cases:
            if case.ok:
                print(
                    f"{bench.name:30} {case.label:34} {case.n_rois!s:>4} {len(case.times_s):4d} "
                    f"{case.median_s:7.2f} {case.median_cpu_s:7.2f}"
                )
            else:
                print(f"{bench.name:30} {case.label:34} FAILED: {case.error}")
    print("(medians; cpu: user + system time of the process)")
    print()
    print(
        f"{'plan':30} {'wall/defaults':>13} {'cpu/defaults':>12} {'wall/interp.':>12} "
        f"{'cpu/interp.':>11} {'target':>7}  met"
    )
    for bench in plans:
        print(
            f"{bench.name:30} {_fmt_ratio(bench.ratio(DEFAULTS)):>13} "
            f"{_fmt_ratio(bench.ratio(DEFAULTS, cpu=True)):>12} "
            f"{_fmt_ratio(bench.ratio(INTERPOLATED)):>12} "
            f"{_fmt_ratio(bench.ratio(INTERPOLATED, cpu=True)):>11} "
            f"{bench.target:7.2f}  {'yes' if bench.met else 'NO'}"
        )
    print("(ratios plancheck / dicompyler-core; target: wall time against its defaults)")
    print(
        "dicompyler-core interpolation (row, column mm): "
        + "; ".join(f"{b.name} {b.interpolation_mm[0]:g}, {b.interpolation_mm[1]:g}" for b in plans)
    )


def to_json(
    plans: list[PlanBench], load_before: tuple[float, ...], load_after: tuple[float, ...],
    keep_openblas: bool, dcp_python: str,
) -> dict[str, object]:
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_before": list(load_before),
        "load_average_after": list(load_after),
        "openblas_env_removed": not keep_openblas,
        "bytecode_cached": True,
        "dicompyler_env": env_versions(Path(dcp_python)),
        "plans": [
            {
                "plan": b.name,
                "interpolation_mm": b.interpolation_mm,
                "target_ratio": b.target,
                "met": b.met,
                "cases": [
                    {
                        "label": c.label,
                        "rois": c.n_rois,
                        "times_s": c.times_s,
                        "cpu_s": c.cpu_s,
                        "median_s": c.median_s if c.ok else None,
                        "median_cpu_s": c.median_cpu_s if c.ok else None,
                        "error": c.error,
                    }
                    for c in b.cases
                ],
                "ratio_wall_defaults": b.ratio(DEFAULTS),
                "ratio_cpu_defaults": b.ratio(DEFAULTS, cpu=True),
                "ratio_wall_interpolated": b.ratio(INTERPOLATED),
                "ratio_cpu_interpolated": b.ratio(INTERPOLATED, cpu=True),
            }
            for b in plans
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan_dirs", nargs="*", type=Path, help="default: Eclipse + real_exports/*")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of (a) and (b)")
    parser.add_argument(
        "--repeat-interpolated", type=int, default=1, help="timed runs of (c); 0 skips it"
    )
    parser.add_argument("--keep-openblas-env", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a plan misses its target (1/10, 1/5)"
    )
    args = parser.parse_args()

    plan_dirs = [p.resolve() for p in (args.plan_dirs or default_plan_dirs())]
    missing = [p for p in plan_dirs if not p.is_dir()]
    if missing:
        raise SystemExit(f"plan folder(s) not found: {missing} (set PLANCHECK_REFERENCE_DATA)")
    dcp_python = str(ensure_env())
    workdir = Path(tempfile.mkdtemp(prefix="plancheck-bench-"))
    env = timing_env(workdir / "pycache", keep_openblas=args.keep_openblas_env)
    try:
        plans = [
            make_plan(p, workdir, dcp_python, args.repeat, args.repeat_interpolated)
            for p in plan_dirs
        ]
        load_before = os.getloadavg()
        for bench in plans:
            run_plan(bench, env)
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print_report(plans, load_before, load_after, env, dcp_python)
    if args.json:
        figures = to_json(plans, load_before, load_after, args.keep_openblas_env, dcp_python)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    all_met = all(b.met for b in plans)
    print(f"every plan within its target: {'yes' if all_met else 'NO'}")
    return 1 if args.check and not all_met else 0


if __name__ == "__main__":
    sys.exit(main())
