"""Batch throughput: plans per minute with 1 and 2 worker processes and on a local Dask cluster.

Two cohorts, each run by ``plancheck batch`` as a whole process (start-up,
discovery, the worker pool, reports with DVH figures, the summary) with each
kind of parallelism:

* **phantoms**: courses of varying size made by the project's phantom
  generator (a PTV sphere of radius 8 to 35 mm, a cord cylinder beside it and
  a body sphere, in linear dose gradients, on 1.5 to 3 mm dose grids), with a
  small protocol for them;
* **real**: copies of every plan in the shared reference data's
  ``real_exports/`` (Pinnacle, RayStation, Eclipse brachytherapy), each copy
  with new UIDs and patient ID (so each is a course of its own), made in the
  work folder, never in the repository or the reference data; with a protocol
  of physical organ limits whose structures are optional (each export has
  other ROIs).

It checks that the summaries of every parallelism are identical and prints
plans per minute and the speed-up of 2 workers over 1 (target: at least
1.8x), beside how fast this machine runs two busy processes at once (the
speed-up cannot beat that when other work shares the cores) and its load.

How pool start-up is amortised: the workers are started once per batch (one
process pool for every plan), each imports what an evaluation needs once, on
its first plan, in parallel with the other; plans are handed out one at a
time as workers free up, largest inputs first, so that no worker finishes
long before the other (the tail is the smallest plan, not the largest).

Usage::

    .venv/bin/python benchmarks/bench_batch.py [--cohort phantoms|real|both] [--plans 200]
        [--copies 4] [--skip NAME ...] [--workdir DIR] [--no-dask] [--json FILE]

The cohorts are kept in ``--workdir`` (default: a temporary folder, removed
at the end) and reused when they are already there.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchenv import timing_env

PROTOCOL = """\
name: bench_phantom
title: Benchmark protocol for generated phantoms
description: Constraints on the PTV, cord and body of the phantoms of benchmarks/bench_batch.py.
body: Body
dose_levels:
  - id: rx
    target: PTV
    dose_gy: 30
    fractions: 10
structures:
  - name: PTV
  - name: Body
  - name: SpinalCord
    aliases: [Cord]
constraints:
  - {structure: PTV, metric: "V95%[%]", dose_level: rx, goal: ">= 95", source: benchmark}
  - {structure: PTV, metric: "D98%[%]", dose_level: rx, goal: ">= 90", source: benchmark}
  - {structure: PTV, metric: "D2%[%]", dose_level: rx, goal: "<= 107", variation: "<= 110", source: benchmark}
  - {structure: SpinalCord, metric: "D0.03cc[EQD2Gy(a/b=2)]", goal: "<= 55", variation: "<= 60", source: benchmark}
  - {structure: SpinalCord, metric: "Mean[Gy]", goal: "<= 32", source: benchmark}
  - {structure: Body, metric: "D0.03cc[%]", dose_level: rx, goal: "<= 125", source: benchmark}
"""

GRIDS_MM = (1.5, 2.0, 2.5, 3.0)
TARGET_SPEEDUP = 1.8


def _case(index: int, root: str) -> str:
    from plancheck.phantoms.build import RoiSpec, standard_spec, write_phantom
    from plancheck.phantoms.shapes import Cylinder, Sphere

    radius = 8.0 + (index * 7.3) % 27.0  # 8 to 35 mm, spread over the cohort
    grid = GRIDS_MM[index % len(GRIDS_MM)]
    gradient = 0.05 + 0.05 * (index % 5)  # Gy/mm: from easy coverage to failing coverage
    spec = standard_spec(
        "sphere",
        radius_mm=radius,
        dose_grid_mm=grid,
        gradient="oblique",
        gradient_gy_per_mm=gradient,
        dose_at_centre_gy=30.0,
        n_fractions=10,
        name=f"bench{index:04d}",
    )
    cord = Cylinder(5.0, 2.0 * radius + 20.0, (0.0, radius + 10.0, 0.0))
    spec = dataclasses.replace(
        spec,
        rois=(
            RoiSpec("PTV", Sphere(radius)),
            RoiSpec("Cord", cord, "ORGAN", (0, 255, 0)),
            RoiSpec("Body", Sphere(radius + 25.0), "EXTERNAL", (0, 0, 255)),
        ),
    )
    out = Path(root) / f"case{index:04d}"
    write_phantom(spec, out)
    return str(out)


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def parallel_capacity(n: int = 20_000_000) -> float:
    """How many busy loops this machine runs at once on 2 processes (2.0 on 2 idle cores).

    Other work on the machine lowers it; the speed-up of the batch cannot beat it.
    """
    started = time.perf_counter()
    _spin(n)
    _spin(n)
    serial = time.perf_counter() - started
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_spin, [1, 1]))
        started = time.perf_counter()
        list(pool.map(_spin, [n, n]))
        parallel = time.perf_counter() - started
    return serial / parallel


REAL_PROTOCOL = """\
name: bench_real_exports
title: Benchmark protocol for the real exports
description: >-
  Physical organ limits (QUANTEC-like values, for timing only: not a clinical protocol) on
  structures that some of the real exports have; every structure is optional.
body: Body
structures:
  - {name: Body, aliases: [BODY, Ext, External], required: false}
  - {name: SpinalCord, aliases: [SPINAL_CORD, Cord], required: false}
  - {name: Brainstem, aliases: [BRAINSTEM, BRAIN STEM, BrainStem], required: false}
  - {name: Brain, aliases: [BRAIN], required: false}
  - {name: Parotid_L, aliases: [PAROTID_L], required: false}
  - {name: Parotid_R, aliases: [PAROTID_R], required: false}
  - {name: Mandible, aliases: [MANDIBLE], required: false}
constraints:
  - {structure: Body, metric: "D0.03cc[Gy]", report_only: true, source: benchmark}
  - {structure: SpinalCord, metric: "D0.03cc[Gy]", goal: "<= 50", source: benchmark}
  - {structure: Brainstem, metric: "D0.03cc[Gy]", goal: "<= 54", source: benchmark}
  - {structure: Brain, metric: "Mean[Gy]", goal: "<= 30", source: benchmark}
  - {structure: Parotid_L, metric: "Mean[Gy]", goal: "<= 26", source: benchmark}
  - {structure: Parotid_R, metric: "Mean[Gy]", goal: "<= 26", source: benchmark}
  - {structure: Mandible, metric: "D0.03cc[Gy]", goal: "<= 70", source: benchmark}
"""

# UIDs that name a kind of object or an encoding, not an instance: kept as they are
_KEEP_UIDS = {
    "SOPClassUID",
    "ReferencedSOPClassUID",
    "MediaStorageSOPClassUID",
    "TransferSyntaxUID",
    "ImplementationClassUID",
    "RelatedGeneralSOPClassUID",
    "CodingSchemeUID",
}


def _new_uid(old: str, copy: int) -> str:
    """A 2.25 UID (ISO/IEC 9834-8) derived from ``old`` and the copy: the same within a copy."""
    import hashlib

    digest = hashlib.sha256(f"plancheck-bench-copy-{copy}:{old.strip()}".encode()).hexdigest()
    return f"2.25.{int(digest[:32], 16)}"


def _renew_uids(ds: Any, copy: int) -> None:
    """Replace every instance UID of ``ds`` (nested sequences too) by the copy's own."""
    for elem in ds.iterall():
        if elem.VR != "UI" or elem.keyword in _KEEP_UIDS or elem.value in (None, ""):
            continue
        if elem.VM > 1:
            elem.value = [_new_uid(str(v), copy) for v in elem.value]
        else:
            elem.value = _new_uid(str(elem.value), copy)


def copy_with_new_uids(source: Path, target: Path, copy: int) -> None:
    """Copy the DICOM files of ``source`` into ``target`` with new UIDs and patient ID.

    References between the files stay consistent: one UID maps to one new UID
    within a copy. Files that are not DICOM are not copied.
    """
    import pydicom

    target.mkdir(parents=True)
    for path in sorted(p for p in source.iterdir() if p.is_file()):
        try:
            ds = pydicom.dcmread(path)
        except (pydicom.errors.InvalidDicomError, OSError):
            continue
        _renew_uids(ds, copy)
        if "PatientID" in ds:
            ds.PatientID = f"{ds.PatientID}-copy{copy}"
        meta = ds.file_meta
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(target / f"{path.stem}.copy{copy}.dcm", enforce_file_format=True)


def real_export_dirs() -> list[Path]:
    override = os.environ.get("PLANCHECK_REFERENCE_DATA")
    base = Path(override) if override else Path(__file__).resolve().parents[2] / "shared" / "data"
    exports = base / "real_exports"
    return sorted(p for p in exports.iterdir() if p.is_dir()) if exports.is_dir() else []


def make_real_cohort(root: Path, copies: int, skip: list[str]) -> list[Path]:
    sources = [p for p in real_export_dirs() if p.name not in skip]
    marker = root / f".cohort-{copies}-{'-'.join(p.name for p in sources)}"
    if marker.exists():
        return sorted(p for p in root.iterdir() if p.is_dir())
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for source in sources:
        for copy in range(copies):
            copy_with_new_uids(source, root / f"{source.name}-{copy}", copy)
    marker.write_text("complete\n")
    return sorted(p for p in root.iterdir() if p.is_dir())


def make_cohort(root: Path, n: int) -> list[Path]:
    marker = root / f".cohort-{n}"
    if marker.exists():
        return sorted(p for p in root.iterdir() if p.is_dir())
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    with ProcessPoolExecutor() as pool:
        cases = list(pool.map(_case, range(n), [str(root)] * n))
    marker.write_text("complete\n")
    return [Path(c) for c in cases]


@dataclass(frozen=True)
class BatchRun:
    seconds: float
    exit_code: int
    rows: list[dict[str, str]]
    summary: str

    @property
    def evaluated(self) -> int:
        return sum(1 for r in self.rows if r.get("status") != "skipped")


def run(cohort: Path, out: Path, protocol: Path, workers: int, scheduler: str | None = None) -> BatchRun:
    """``plancheck batch`` as a whole process (start-up, discovery, pool, summary), timed."""
    import csv

    if out.exists():
        shutil.rmtree(out)
    script = Path(sys.executable).parent / "plancheck"
    head = [str(script)] if script.exists() else [sys.executable, "-m", "plancheck"]
    command = [*head, "batch", str(cohort), "--output", str(out), "--protocol", str(protocol)]
    command += ["--jobs", str(workers)] + (["--scheduler", scheduler] if scheduler else [])
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"plancheck batch failed ({proc.returncode}): {proc.stderr[-1000:]}")
    summary = (out / "summary.csv").read_text()
    rows = list(csv.DictReader(summary.splitlines()))
    return BatchRun(seconds, proc.returncode, rows, summary)


def bench_cohort(
    name: str, cohort: Path, protocol: Path, work: Path, no_dask: bool
) -> dict[str, Any]:
    """Run ``cohort`` with each parallelism; the figures and whether the summaries agree."""
    configs: list[tuple[str, dict[str, Any]]] = [
        ("1 worker", {"workers": 1}),
        ("2 workers", {"workers": 2}),
    ]
    if not no_dask:
        configs.append(("Dask local, 2 workers", {"workers": 2, "scheduler": "local"}))
    results: dict[str, dict[str, Any]] = {}
    summaries = []
    load_before = os.getloadavg()
    for label, parallel in configs:
        outcome = run(cohort, work / f"out-{name}-{len(results)}", protocol, **parallel)
        seconds = outcome.seconds
        statuses: dict[str, int] = {}
        for row in outcome.rows:
            statuses[row["status"]] = statuses.get(row["status"], 0) + 1
        results[label] = {
            "seconds": round(seconds, 2),
            "plans_per_minute": round(outcome.evaluated / seconds * 60.0, 1),
            "statuses": statuses,
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
        }
        summaries.append(outcome.summary)
        print(
            f"  {label:>22}: {seconds:7.1f} s  {results[label]['plans_per_minute']:7.1f} plans/min  "
            f"{statuses}  (load {_load(os.getloadavg())})"
        )
    identical = all(s == summaries[0] for s in summaries)
    speedup = results["1 worker"]["seconds"] / results["2 workers"]["seconds"]
    print(
        f"  summaries identical: {identical}; 2 workers / 1 worker: {speedup:.2f}x "
        f"(target >= {TARGET_SPEEDUP}x)"
    )
    return {
        "plans": len([p for p in cohort.iterdir() if p.is_dir()]),
        "results": results,
        "speedup_2_over_1": round(speedup, 2),
        "summaries_identical": identical,
        "load_average_before": [round(v, 2) for v in load_before],
    }


def _load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{v:.2f}" for v in load)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cohort", choices=["phantoms", "real", "both"], default="both")
    parser.add_argument("--plans", type=int, default=200, help="phantom courses")
    parser.add_argument("--copies", type=int, default=4, help="copies of each real export")
    parser.add_argument(
        "--skip", action="append", default=[], help="leave this real export out (repeatable)"
    )
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the figures to this file"
    )
    args = parser.parse_args(argv)
    if args.plans < 1 or args.copies < 1:
        parser.error("--plans and --copies must be at least 1")

    temporary = args.workdir is None
    work = Path(tempfile.mkdtemp(prefix="plancheck-bench-")) if temporary else args.workdir
    work.mkdir(parents=True, exist_ok=True)
    # workers compile plancheck once into a bytecode cache of the benchmark's own
    os.environ.update(timing_env(work / "pycache"))
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        cohorts: list[tuple[str, Path, Path]] = []
        if args.cohort in ("phantoms", "both"):
            t0 = time.perf_counter()
            make_cohort(work / "cohort", args.plans)
            print(f"phantom cohort: {args.plans} courses in {time.perf_counter() - t0:.1f} s")
            protocol = work / "bench_phantom.yaml"
            protocol.write_text(PROTOCOL)
            cohorts.append(("phantoms", work / "cohort", protocol))
        if args.cohort in ("real", "both"):
            t0 = time.perf_counter()
            plans = make_real_cohort(work / "real", args.copies, args.skip)
            if not plans:
                raise SystemExit("no real exports found (set PLANCHECK_REFERENCE_DATA)")
            names = sorted({p.name.rsplit("-", 1)[0] for p in plans})
            print(
                f"real cohort: {len(plans)} courses ({args.copies} copies of {', '.join(names)}; "
                f"new UIDs) in {time.perf_counter() - t0:.1f} s"
            )
            protocol = work / "bench_real.yaml"
            protocol.write_text(REAL_PROTOCOL)
            cohorts.append(("real", work / "real", protocol))
        capacity = parallel_capacity()
        print(
            f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; 2 busy processes "
            f"run {capacity:.2f}x as fast as 1; load average (1/5/15 min) {_load(os.getloadavg())}"
        )
        figures: dict[str, Any] = {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "machine_parallel_capacity": round(capacity, 2),
            "skipped_real_exports": args.skip,
            "cohorts": {},
        }
        for name, cohort, protocol in cohorts:
            print(f"{name}:")
            figures["cohorts"][name] = bench_cohort(name, cohort, protocol, work, args.no_dask)
        if args.json is not None:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        return 0 if all(c["summaries_identical"] for c in figures["cohorts"].values()) else 1
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
