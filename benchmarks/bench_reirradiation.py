"""Re-irradiation phantoms: plancheck's cumulative EQD2 against the per-point truth.

For each variant of :mod:`plancheck.phantoms.reirradiation` (written to a
temporary folder, the sample's 2.5 mm current grid and, for the closed-form
comparison, a 1.25 mm one), prints the cumulative EQD2 (α/β 2 Gy) D0.03cc and
Max of the spinal cord and thecal sac as plancheck evaluates them (through
the REG file, ``plancheck evaluate CURRENT --prior PRIOR``) beside two truths
computed without plancheck's engine at 400 000 uniform points of the current
contour stacks: the closed-form dose fields ("analytic"), and the written
grids interpolated trilinearly in the test helpers ("grids"). Also the
seconds per evaluation and the machine load.

Run from the repository root: ``.venv/bin/python benchmarks/bench_reirradiation.py [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plancheck.phantoms.reirradiation import build_reirradiation, write_reirradiation
from plancheck.pipeline import evaluate_folder
from plancheck.reirradiation import PriorRequest
from tests.reirradiation.helpers import STRUCTURES, truth, values, write_report_protocol

CASES = (
    ("identity", 2.5),
    ("translation", 2.5),
    ("rotation", 2.5),
    ("rotation-fail", 2.5),
    ("deformable", 2.5),
    ("rotation", 1.25),
    ("rotation-fail", 1.25),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="write the figures to this file")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        protocol = write_report_protocol(Path(tmp) / "report.yaml")
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(f"{'variant':14} {'grid':>5} {'structure':10} {'metric':8} {'plancheck':>9} {'analytic':>9} {'diff':>7} {'grids':>9} {'diff':>7}")
        for variant, grid_mm in CASES:
            paths = write_reirradiation(variant, Path(tmp) / f"{variant}-{grid_mm}", current_grid_mm=grid_mm)
            started = time.perf_counter()
            ev = evaluate_folder(
                paths.current_dir, str(protocol), priors=PriorRequest((paths.prior_dir,)), accept_mismatch=True
            )
            seconds = time.perf_counter() - started
            got = values(ev)
            ph = build_reirradiation(variant, current_grid_mm=grid_mm)
            for structure in STRUCTURES:
                analytic = truth(ph, structure)
                grids = truth(ph, structure, from_grids=True)
                for metric in ("D0.03cc", "Max"):
                    value = got[(structure, metric, "cumulative")]
                    a, g = analytic[(metric, "cumulative")], grids[(metric, "cumulative")]
                    rows.append(
                        {
                            "variant": variant,
                            "current_grid_mm": grid_mm,
                            "structure": structure,
                            "metric": metric,
                            "plancheck_gy": value,
                            "analytic_gy": a,
                            "grids_gy": g,
                            "seconds": seconds,
                        }
                    )
                    print(
                        f"{variant:14} {grid_mm:5.2f} {structure:10} {metric:8} {value:9.2f} {a:9.2f} "
                        f"{100 * (value / a - 1):+6.2f}% {g:9.2f} {100 * (value / g - 1):+6.2f}%"
                    )
            print(f"  ({seconds:.1f} s, load {os.getloadavg()[0]:.2f})")
    if args.json is not None:
        args.json.write_text(json.dumps({"load_average": os.getloadavg(), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
