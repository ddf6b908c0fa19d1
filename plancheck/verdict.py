"""The verdict of an evaluation: one outcome, its exit status and every reason for it.

The verdict is PASS only when every graded constraint was evaluated on input
that supports it and met its goal. In order of precedence:

1. **NOT EVALUABLE** (exit 3): the input is in doubt or does not fit the
   protocol: an error-level finding about a file that could belong to the
   course (an unreadable dose beside the used one, a different file with the
   same SOP Instance UID, ...), or a blocking mismatch between the plans and
   the protocol's dose levels (fraction counts, fraction groups, plan count,
   prescriptions) that the user did not accept (``--accept-mismatch``).
2. **FAIL** (exit 1): a graded constraint misses its goal and its acceptable
   variation.
3. **INCOMPLETE** (exit 3): a required structure, or every structure of a
   required group, is missing, or a graded constraint could not be evaluated
   (structure partly outside the dose grid, contours lost while reading, an
   undefined metric).
4. **WARN** (exit 0): every graded constraint met its goal or its acceptable
   variation, with warnings that the reviewer must see: a variation used, the
   planning system's stored DVHs disagreeing, a mismatch the user accepted.
5. **PASS** (exit 0).

Absent optional structures never change the verdict; they are listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from plancheck.errors import EXIT_FAIL, EXIT_INPUT, EXIT_OK
from plancheck.model import Finding, Severity
from plancheck.protocol.evaluate import ProtocolResult
from plancheck.protocol.outcome import Status
from plancheck.protocol.selection import Mismatch

__all__ = ["BLOCKING_WARNING_CODES", "Verdict", "blocking_findings", "decide_verdict"]

Outcome = Literal["pass", "warn", "fail", "not-evaluated"]

# warning-level findings that still make the input ambiguous: which file's content is right?
BLOCKING_WARNING_CODES = frozenset({"duplicate-sop-instance-uid"})


@dataclass(frozen=True)
class Verdict:
    """The outcome of an evaluation and why.

    ``label`` is what users read (PASS, WARN, FAIL, INCOMPLETE, NOT
    EVALUABLE); ``outcome`` the machine value shared with batch summaries;
    ``blocking`` the reasons it is not evaluable or incomplete (beside a
    FAIL too: what could not be checked);
    ``warnings`` what a passing verdict carries; ``accepted`` the mismatches
    the user accepted.
    """

    label: str
    outcome: Outcome
    exit_code: int
    blocking: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    accepted: tuple[str, ...] = ()
    failed: tuple[str, ...] = field(default=())

    @property
    def line(self) -> str:
        """The verdict in one line, with its reasons."""
        parts = [self.label]
        if self.failed:
            parts.append(f"{len(self.failed)} constraint(s) failed: " + "; ".join(self.failed))
        if self.blocking:
            parts.append("; ".join(self.blocking))
        if self.warnings:
            parts.append("warnings: " + "; ".join(self.warnings))
        if self.accepted:
            parts.append("accepted by the user (--accept-mismatch): " + "; ".join(self.accepted))
        return " — ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "blocking": list(self.blocking),
            "warnings": list(self.warnings),
            "accepted_mismatches": list(self.accepted),
            "failed": list(self.failed),
            "line": self.line,
        }


def _where(f: Finding) -> str:
    return f" ({f.path})" if f.path and f.path not in f.message else ""


def blocking_findings(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """Findings that make the input ambiguous for the course: errors, and duplicated objects."""
    return tuple(
        f
        for f in findings
        if f.severity is Severity.ERROR
        or (f.severity is Severity.WARNING and f.code in BLOCKING_WARNING_CODES)
    )


def _short(o: Any) -> str:
    value = "" if o.value is None else f" = {o.value:.4g} {o.unit}".rstrip()
    return f"{o.structure} {o.metric}{value}"


def decide_verdict(
    result: ProtocolResult,
    findings: Sequence[Finding],
    mismatches: Sequence[Mismatch] = (),
    *,
    accept_mismatch: bool = False,
    warnings: Sequence[str] = (),
) -> Verdict:
    """The verdict of ``result`` given the input's findings and the plan/protocol mismatches.

    ``warnings`` are further warnings of the evaluation (the cross-check with
    the planning system's DVHs).
    """
    graded = [o for o in result.outcomes if o.counts_for_exit]
    failed = tuple(
        f"{_short(o)} (goal {o.goal}{'' if o.variation is None else ', variation ' + o.variation})"
        for o in graded
        if o.status is Status.FAIL
    )
    input_doubts = [
        f"{f.severity.value} {f.code}: {f.message}{_where(f)}" for f in blocking_findings(findings)
    ]
    blocking_mismatches = [m for m in mismatches if m.blocking]
    accepted: tuple[str, ...] = ()
    not_evaluable = list(input_doubts)
    if blocking_mismatches:
        texts = [f"{m.code}: {m.message}" for m in blocking_mismatches]
        if accept_mismatch:
            accepted = tuple(texts)
        else:
            not_evaluable += [
                f"{t} (the protocol does not fit the plans; choose the right protocol, or accept the "
                "mismatch with --accept-mismatch)"
                for t in texts
            ]
    if not_evaluable:
        return Verdict("NOT EVALUABLE", "not-evaluated", EXIT_INPUT, tuple(not_evaluable), (), accepted, failed)
    incomplete = [f"required structure {s!r} is missing" for s in result.missing_structures]
    incomplete += list(result.missing_groups)
    missing = set(result.missing_structures)
    incomplete += [
        f"{o.structure} {o.metric} not evaluated: {o.reason}"
        for o in graded
        if o.status is Status.NOT_EVALUATED and o.structure not in missing
    ]
    if failed:
        # what could not be checked is said beside the failure: a reviewer fixing the failure
        # must not take the rest for checked
        return Verdict("FAIL", "fail", EXIT_FAIL, tuple(incomplete), tuple(warnings), accepted, failed)
    if incomplete:
        return Verdict("INCOMPLETE", "not-evaluated", EXIT_INPUT, tuple(incomplete), tuple(warnings), accepted)
    notes = [
        f"{_short(o)} is within the acceptable variation {o.variation} but misses the goal {o.goal}"
        for o in graded
        if o.status is Status.WARN
    ]
    notes += list(warnings)
    if accepted:
        notes.append("the plans do not fit the protocol (mismatch accepted by the user)")
    if notes:
        return Verdict("WARN", "warn", EXIT_OK, (), tuple(notes), accepted)
    return Verdict("PASS", "pass", EXIT_OK)
