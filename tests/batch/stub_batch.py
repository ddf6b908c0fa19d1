"""Run a batch with the stand-in evaluator in a process of its own (for kill and signal tests).

``python -m tests.batch.stub_batch ROOT OUT [--resume] [--workers N]``; exits
like ``plancheck batch``: the batch's status, 130 on Ctrl-C, 128 + n on signal n.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plancheck.batch.run import run_batch
from plancheck.batch.task import BatchSettings
from tests.batch.stubs import stub_evaluate


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    settings = BatchSettings(root=args.root, output_dir=args.out, evaluate=stub_evaluate, figure=False)
    try:
        outcome = run_batch(settings, workers=args.workers, resume=args.resume)
    except KeyboardInterrupt as exc:
        return 128 + int(getattr(exc, "signal_number", 2))
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
