"""The verdict's precedence: NOT EVALUABLE > FAIL > INCOMPLETE > WARN > PASS (plancheck.verdict)."""

from __future__ import annotations

import pytest

from plancheck.model import Finding, Severity
from plancheck.protocol.evaluate import ProtocolResult
from plancheck.protocol.outcome import ConstraintOutcome, Status
from plancheck.protocol.selection import Mismatch
from plancheck.verdict import decide_verdict


def outcome(status: Status, *, goal: str | None = "<= 10", required: bool = True, value: float | None = 5.0):
    return ConstraintOutcome(
        kind="dvh",
        structure="Cord",
        metric="D0.03cc[Gy]",
        status=status,
        value=None if status is Status.NOT_EVALUATED else value,
        unit="Gy",
        goal=goal,
        variation="<= 12" if goal else None,
        reason="why",
        required=required,
    )


def result(*outcomes, missing_groups=()):
    return ProtocolResult("p", tuple(outcomes), (), (), tuple(missing_groups))


ERROR = Finding(Severity.ERROR, "dicom-unreadable", "RD.2.dcm: the file is truncated", "/x/RD.2.dcm")
DUPLICATE = Finding(Severity.WARNING, "duplicate-sop-instance-uid", "RD.b has the same UID as RD.a", "/x/RD.b")
MISMATCH = Mismatch("fraction-mismatch", "plan 'A' has 20 fractions, the protocol 10", True)


@pytest.mark.parametrize(
    ("statuses", "findings", "mismatches", "label", "code"),
    [
        ([Status.PASS], [], [], "PASS", 0),
        ([Status.PASS, Status.WARN], [], [], "WARN", 0),
        ([Status.PASS, Status.NOT_EVALUATED], [], [], "INCOMPLETE", 3),
        ([Status.FAIL, Status.NOT_EVALUATED], [], [], "FAIL", 1),
        ([Status.FAIL], [ERROR], [], "NOT EVALUABLE", 3),
        ([Status.PASS], [ERROR], [], "NOT EVALUABLE", 3),
        ([Status.PASS], [DUPLICATE], [], "NOT EVALUABLE", 3),
        ([Status.PASS], [], [MISMATCH], "NOT EVALUABLE", 3),
        # warnings and infos about the input do not block
        ([Status.PASS], [Finding(Severity.WARNING, "link-by-frame-of-reference", "x")], [], "PASS", 0),
    ],
)
def test_precedence(statuses, findings, mismatches, label, code):
    v = decide_verdict(result(*(outcome(s) for s in statuses)), findings, mismatches)
    assert (v.label, v.exit_code) == (label, code)
    if label == "NOT EVALUABLE":
        assert v.blocking
        assert any(f.path in b or f.message in b for f in findings for b in v.blocking) or mismatches


def test_accepted_mismatch_is_a_warning_and_recorded():
    v = decide_verdict(result(outcome(Status.PASS)), [], [MISMATCH], accept_mismatch=True)
    assert (v.label, v.exit_code) == ("WARN", 0)
    assert v.accepted and "20 fractions" in v.accepted[0]
    assert "--accept-mismatch" in v.line


def test_optional_absent_structures_and_report_only_items_do_not_count():
    v = decide_verdict(
        result(
            outcome(Status.PASS),
            outcome(Status.NOT_EVALUATED, required=False),
            outcome(Status.REPORTED, goal=None),
        ),
        [],
    )
    assert v.label == "PASS"


def test_missing_group_is_incomplete_and_cross_check_warnings_show():
    v = decide_verdict(result(outcome(Status.PASS), missing_groups=["none of A, B"]), [])
    assert (v.label, v.exit_code) == ("INCOMPLETE", 3) and "none of A, B" in v.blocking
    w = decide_verdict(result(outcome(Status.PASS)), [], warnings=["doses are 0.85 x"])
    assert (w.label, w.exit_code) == ("WARN", 0) and "0.85" in w.line
