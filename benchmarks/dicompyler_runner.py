"""Compute DVHs with dicompyler-core 0.5.6: run INSIDE its own virtual environment.

This script imports dicompyler-core (and pydicom < 3), never plancheck, so it
runs in the separate environment that ``benchmarks/dicompyler_env.py`` makes.
It reads a JSON job file and prints one JSON document:

    {"jobs": [{"rtstruct": PATH, "rtdose": PATH, "rois": [N, ...] | null,
               "interpolation_mm": MM | [ROW_MM, COLUMN_MM] | null}, ...]}

``rois`` null means every ROI of the structure set (as ``plancheck dvh`` does
by default). Each file is parsed once with pydicom and the datasets are handed
to ``dicompylercore.dvhcalc.get_dvh(rtss, rtdose, roi, ...)`` for each ROI; all
other arguments stay at dicompyler-core's defaults, except
``interpolation_resolution=(mm, mm)`` when ``interpolation_mm`` is given (or
``(row_mm, column_mm)`` when it is a pair).

For every ROI the output holds dicompyler-core's own statistics (its DVH
class's ``volume``, ``mean``, ``min``, ``max`` and ``statistic("D95")`` etc.,
which look up the nearest 0.01 Gy bin), and, with ``--curves``, the cumulative
curve (volume in cc at each 0.01 Gy edge) so that a caller can read metrics off
it with its own interpolation.

Usage: python dicompyler_runner.py JOBS.json [--curves]
"""

from __future__ import annotations

import argparse
import json
import sys

import pydicom
from dicompylercore import dicomparser, dvhcalc

STATISTICS = ("D99", "D98", "D95", "D50", "D5", "D2", "D1", "D0.03cc")


def run_job(job: dict, curves: bool) -> list[dict]:
    rtss = pydicom.dcmread(job["rtstruct"])
    rtdose = pydicom.dcmread(job["rtdose"])
    names = {k: v["name"] for k, v in dicomparser.DicomParser(rtss).GetStructures().items()}
    rois = job.get("rois") or sorted(names)
    mm = job.get("interpolation_mm")
    if isinstance(mm, list):
        kwargs = {"interpolation_resolution": tuple(mm)}
    else:
        kwargs = {"interpolation_resolution": (mm, mm)} if mm else {}
    results = []
    for roi in rois:
        dvh = dvhcalc.get_dvh(rtss, rtdose, roi, **kwargs)
        item = {
            "roi_number": roi,
            "name": names.get(roi),
            "volume_cc": float(dvh.volume),
            "mean_gy": float(dvh.mean),
            "min_gy": float(dvh.min),
            "max_gy": float(dvh.max),
            "statistics_gy": {s: float(dvh.statistic(s).value) for s in STATISTICS},
        }
        if curves:
            item["curve_dose_gy"] = [float(b) for b in dvh.bins[:-1]]
            item["curve_volume_cc"] = [float(c) for c in dvh.counts]
        results.append(item)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jobs", help="JSON job file")
    parser.add_argument("--curves", action="store_true", help="include cumulative curves")
    args = parser.parse_args()
    with open(args.jobs) as fh:
        jobs = json.load(fh)["jobs"]
    out = {"results": [run_job(job, args.curves) for job in jobs]}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
