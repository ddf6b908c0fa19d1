"""A CT-sized course: seconds and peak memory of ``plancheck dvh`` and ``plancheck evaluate``.

Run from the repository root with plancheck's environment::

    .venv/bin/python benchmarks/bench_ct.py [--workdir DIR] [--frames 200] [--check] [--json FILE]

It writes (once; reused from ``--workdir``) a course on a 512 x 512 x 200 dose
grid (1 mm in-plane, 2.5 mm between frames: a 51 x 51 x 50 cm box) with 40
structures: an elliptic-cylinder body of about 79 litres, targets, long
organs (cord, oesophagus), large ones (lungs, liver, bowel bag) and small
nodules, contoured every 2.5 mm, in a dose of 60 Gy to the PTV falling off
outside it (one plan, 30 fractions, 16-bit RTDOSE). Then it runs, each as a
fresh process:

* ``plancheck dvh DIR --format json`` (all 40 structures, default settings);
* ``plancheck evaluate DIR --protocol bench_ct.yaml --format json``: targets
  relative to the prescription, organs in Gy and in EQD2 (a second dose
  distribution as large as the first), the body's near-maximum;

and prints each one's wall and CPU seconds and peak resident memory (its
maximum RSS, from ``wait4``) beside the memory budget the README states
(4 GiB for a 512 x 512 x 300 grid with 40 structures) and the load average.
``--check`` exits 1 when a peak exceeds the budget.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchenv import describe, timing_env

BUDGET_GIB = 4.0
SPACING_MM = (1.0, 1.0, 2.5)  # x, y, z
PRESCRIPTION_GY = 60.0
N_FRACTIONS = 30
PTV_SEMI_AXES_MM = (40.0, 35.0, 50.0)

PROTOCOL = """\
name: bench_ct
title: Benchmark protocol for the CT-sized course
description: >-
  Targets, organs at risk in Gy and EQD2, and the body of the generated CT-sized course of
  benchmarks/bench_ct.py (timing only: not a clinical protocol).
body: Body
dose_levels:
  - {id: rx, target: PTV, dose_gy: 60, fractions: 30}
alpha_beta:
  - {structures: [SpinalCord, Esophagus, Heart, Lung_L, Lung_R], alpha_beta_gy: 3, source: benchmark}
structures:
  - name: PTV
  - name: CTV
  - name: Body
  - name: SpinalCord
  - name: Esophagus
  - name: Heart
  - name: Lung_L
  - name: Lung_R
  - name: Liver
  - name: Bowel_Bag
constraints:
  - {structure: PTV, metric: "V95%[%]", dose_level: rx, goal: ">= 95", source: benchmark}
  - {structure: PTV, metric: "D98%[%]", dose_level: rx, goal: ">= 90", source: benchmark}
  - {structure: PTV, metric: "D2%[%]", dose_level: rx, goal: "<= 110", source: benchmark}
  - {structure: CTV, metric: "D99%[%]", dose_level: rx, goal: ">= 95", source: benchmark}
  - {structure: Body, metric: "D0.03cc[Gy]", goal: "<= 66", source: benchmark}
  - {structure: SpinalCord, metric: "D0.03cc[EQD2Gy(a/b=3)]", goal: "<= 50", source: benchmark}
  - {structure: Esophagus, metric: "Mean[EQD2Gy(a/b=3)]", goal: "<= 34", source: benchmark}
  - {structure: Heart, metric: "V25Gy[%]", goal: "<= 10", source: benchmark}
  - {structure: Lung_L, metric: "V20Gy[%]", goal: "<= 30", source: benchmark}
  - {structure: Lung_R, metric: "Mean[EQD2Gy(a/b=3)]", goal: "<= 20", source: benchmark}
  - {structure: Liver, metric: "Mean[Gy]", goal: "<= 30", source: benchmark}
  - {structure: Bowel_Bag, metric: "V45Gy[cc]", goal: "<= 195", source: benchmark}
"""


def _shapes() -> list[tuple[str, str, object]]:
    """(name, RT ROI interpreted type, solid) of the 40 structures, body first."""
    from plancheck.phantoms.shapes import Cylinder, Ellipsoid, EllipticCylinder, Sphere

    shapes: list[tuple[str, str, object]] = [
        ("Body", "EXTERNAL", EllipticCylinder((250.0, 200.0), 490.0, (0.0, 0.0, 0.0))),
        ("PTV", "PTV", Ellipsoid(PTV_SEMI_AXES_MM, (0.0, 0.0, 0.0))),
        ("CTV", "CTV", Ellipsoid((32.0, 27.0, 42.0), (0.0, 0.0, 0.0))),
        ("GTV", "GTV", Sphere(18.0, (3.0, -2.0, 0.0))),
        ("SpinalCord", "ORGAN", Cylinder(6.0, 470.0, (0.0, 110.0, 0.0))),
        ("SpinalCanal", "ORGAN", Cylinder(10.0, 470.0, (0.0, 110.0, 0.0))),
        ("Esophagus", "ORGAN", Cylinder(9.0, 300.0, (-10.0, 60.0, 60.0))),
        ("Lung_L", "ORGAN", Ellipsoid((75.0, 95.0, 120.0), (120.0, 0.0, 90.0))),
        ("Lung_R", "ORGAN", Ellipsoid((80.0, 95.0, 125.0), (-120.0, 0.0, 90.0))),
        ("Heart", "ORGAN", Ellipsoid((55.0, 50.0, 55.0), (40.0, -60.0, 40.0))),
        ("Liver", "ORGAN", Ellipsoid((100.0, 80.0, 80.0), (-90.0, -20.0, -110.0))),
        ("Stomach", "ORGAN", Ellipsoid((55.0, 45.0, 50.0), (90.0, -40.0, -110.0))),
        ("Kidney_L", "ORGAN", Ellipsoid((30.0, 30.0, 55.0), (85.0, 70.0, -150.0))),
        ("Kidney_R", "ORGAN", Ellipsoid((30.0, 30.0, 55.0), (-85.0, 70.0, -150.0))),
        ("Bowel_Bag", "ORGAN", Ellipsoid((160.0, 110.0, 70.0), (0.0, -40.0, -180.0))),
        ("Spleen", "ORGAN", Ellipsoid((35.0, 30.0, 45.0), (150.0, 30.0, -90.0))),
        ("Trachea", "ORGAN", Cylinder(10.0, 120.0, (0.0, -10.0, 180.0))),
        ("Femur_L", "ORGAN", Cylinder(22.0, 60.0, (110.0, 0.0, -210.0))),
        ("Femur_R", "ORGAN", Cylinder(22.0, 60.0, (-110.0, 0.0, -210.0))),
        ("Aorta", "ORGAN", Cylinder(13.0, 380.0, (25.0, 70.0, 0.0))),
        ("Brachial_Plexus", "ORGAN", Cylinder(5.0, 60.0, (90.0, 20.0, 215.0))),
    ]
    rng = np.random.default_rng(40)
    k = 0
    while len(shapes) < 40:  # small nodules and helper volumes spread through the body
        k += 1
        x, y = rng.uniform(-180.0, 180.0), rng.uniform(-130.0, 130.0)
        if (x / 230.0) ** 2 + (y / 180.0) ** 2 > 1.0:
            continue
        z = rng.uniform(-200.0, 200.0)
        radius = float(rng.uniform(4.0, 30.0))
        shapes.append((f"Nodule_{k:02d}", "AVOIDANCE", Sphere(radius, (x, y, z))))
    return shapes


def _dose(x: np.ndarray, y: np.ndarray, z: float) -> np.ndarray:
    """Plan dose (Gy) on one frame: 60 Gy in the PTV, falling off outside, 0 outside the body."""
    a, b, c = PTV_SEMI_AXES_MM
    rho = np.sqrt((x / a) ** 2 + (y / b) ** 2 + (z / c) ** 2)
    outside_mm = np.maximum(rho - 1.0, 0.0) * min(a, b, c)
    core = PRESCRIPTION_GY * (1.0 + 0.04 * np.exp(-(rho**2) / 0.3))  # a 4 % hot spot
    dose = core * np.exp(-((outside_mm / 22.0) ** 1.4)) + 2.0 * np.exp(-outside_mm / 150.0)
    in_body = (x / 250.0) ** 2 + (y / 200.0) ** 2 <= 1.0
    return np.where(in_body & (abs(z) <= 245.0), dose, 0.0)


def make_course(folder: Path, frames: int) -> None:
    """Write the course into ``folder`` (an RTSTRUCT, an RTPLAN and a 16-bit RTDOSE)."""
    from plancheck.model import DoseGrid, DoseReference, PatientInfo
    from plancheck.phantoms.rtset import PlanDoseSpec, write_rt_set
    from plancheck.phantoms.shapes import contour_shape

    dx, dy, dz = SPACING_MM
    x = (np.arange(512) - 255.5) * dx
    y = (np.arange(512) - 255.5) * dy
    z = (np.arange(frames) - (frames - 1) / 2.0) * dz
    dose = np.empty((frames, y.size, x.size), dtype=np.float32)
    for k, zk in enumerate(z):
        dose[k] = _dose(x[None, :], y[:, None], float(zk))
    grid = DoseGrid(dose, x, y, z, "")
    planes = np.arange(-245.0, 245.0 + 1e-9, 2.5) + 1.25  # contour planes between dose frames
    structures = [
        contour_shape(shape, planes, roi_number=n, name=name, roi_type=kind)  # type: ignore[arg-type]
        for n, (name, kind, shape) in enumerate(_shapes(), start=1)
    ]
    plan = PlanDoseSpec(
        label="CT_SIZED",
        name="CT-sized benchmark course",
        n_fractions=N_FRACTIONS,
        dose_references=(DoseReference(1, "PTV 60 Gy", "TARGET", PRESCRIPTION_GY, 2),),
        dose=grid,
        bits=16,
    )
    write_rt_set(
        folder,
        seed=f"plancheck-bench-ct/{frames}",
        patient=PatientInfo("BENCH^CT", "PC-BENCH-CT", "19700101"),
        structures=structures,
        structure_set_label="CT_SIZED",
        plans=[plan],
    )


def run_measured(command: list[str], env: dict[str, str]) -> dict[str, float | int]:
    """Wall and CPU seconds and peak RSS (GiB) of one process, from ``wait4``."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "exit_code": proc.returncode,
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_gib": round(usage.ru_maxrss * 1024 / 2**30, 3),  # ru_maxrss is in KiB on Linux
        "stderr_tail": stderr.strip()[-300:],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None, help="keep the course here")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--check", action="store_true", help="exit 1 when a peak exceeds 4 GiB")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    temporary = args.workdir is None
    work = Path(tempfile.mkdtemp(prefix="plancheck-bench-ct-")) if temporary else args.workdir
    folder = work / f"ct_course_{args.frames}"
    marker = work / f".ct_course_{args.frames}.complete"  # beside the course, not in it
    try:
        if not marker.exists():
            t0 = time.perf_counter()
            make_course(folder, args.frames)
            marker.write_text("complete\n")
            print(f"course written in {time.perf_counter() - t0:.1f} s: {folder}")
        sizes = {p.name[:2]: p.stat().st_size for p in folder.glob("*.dcm")}
        print(
            f"grid 512 x 512 x {args.frames} at {SPACING_MM} mm, 40 structures; files "
            + ", ".join(f"{k} {v / 2**20:.0f} MiB" for k, v in sorted(sizes.items()))
        )
        protocol = work / "bench_ct.yaml"
        protocol.write_text(PROTOCOL)
        env = timing_env(work / "pycache")
        script = Path(sys.executable).parent / "plancheck"
        head = [str(script)] if script.exists() else [sys.executable, "-m", "plancheck"]
        commands = {
            "dvh": [*head, "dvh", str(folder), "--format", "json"],
            "evaluate": [*head, "evaluate", str(folder), "--protocol", str(protocol), "--format", "json"],
        }
        run_measured([*head, "--version"], env)  # compiles the bytecode cache
        load_before = os.getloadavg()
        results = {name: run_measured(cmd, env) for name, cmd in commands.items()}
        load_after = os.getloadavg()
        print(
            f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; load average "
            f"(1/5/15 min) before {'/'.join(f'{v:.2f}' for v in load_before)}, after "
            f"{'/'.join(f'{v:.2f}' for v in load_after)}; {describe(env)}"
        )
        ok = True
        for name, r in results.items():
            within = r["peak_rss_gib"] <= BUDGET_GIB
            ok = ok and within and r["exit_code"] in (0, 1, 3)
            print(
                f"plancheck {name:9} exit {r['exit_code']}: {r['wall_s']:7.1f} s wall, "
                f"{r['cpu_s']:7.1f} s CPU, peak memory {r['peak_rss_gib']:.2f} GiB "
                f"({'within' if within else 'OVER'} the {BUDGET_GIB:g} GiB budget)"
            )
            if r["exit_code"] not in (0, 1, 3):
                print(f"  stderr: {r['stderr_tail']}")
        if args.json is not None:
            args.json.write_text(
                json.dumps(
                    {
                        "grid": [512, 512, args.frames],
                        "spacing_mm": SPACING_MM,
                        "structures": 40,
                        "cpu_count": os.cpu_count(),
                        "python": platform.python_version(),
                        "load_average_before": list(load_before),
                        "load_average_after": list(load_after),
                        "budget_gib": BUDGET_GIB,
                        "results": results,
                    },
                    indent=2,
                )
                + "\n"
            )
        return 1 if args.check and not ok else 0
    finally:
        if temporary:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
