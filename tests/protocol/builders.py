"""Small protocol texts for the protocol tests, and a helper to find lines in them.

Every expected line number in the tests is found in the text the test wrote
(``line_of``), not taken from the code under test.
"""

from __future__ import annotations

from pathlib import Path

MINIMAL = """\
name: mini
description: a small protocol for tests
body: Body
dose_levels:
  - id: rx
    target: PTV
    dose_gy: 40
    fractions: 10
structures:
  - name: PTV
    aliases: [PTV_4000]
  - name: Body
    aliases: [External]
  - name: SpinalCord
    aliases: [Cord, SC]
  - name: Kidney_L
    required: false
  - name: PTV_Low!
    derived: PTV - SpinalCord
constraints:
  - structure: SpinalCord
    metric: D0.03cc[EQD2Gy(a/b=2)]
    goal: "<= 45"
    variation: "<= 50"
    priority: 1
    source: test cord
  - structure: PTV
    metric: V95%[%]
    dose_level: rx
    goal: ">= 95"
    source: test coverage
  - structure: PTV_Low!
    metric: D50%[Gy]
    report_only: true
    source: test report
  - structure: Kidney_L
    metric: Mean[Gy]
    goal: "<= 12"
    source: test kidney
indices:
  - {index: ci_paddick, dose_level: rx, report_only: true, source: test index}
"""


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line of ``text`` containing ``needle``."""
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in the text")


def write(tmp_path: Path, text: str, name: str = "proto.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
