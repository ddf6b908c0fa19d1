"""Finding the ROIs of a structure set that a protocol's structures refer to.

Rules (explicit, so that every match can be audited):

* A protocol structure is matched by its TG-263 name, its aliases, and the
  aliases a site adds in a separate aliases file (:class:`UserAliases`),
  compared after :func:`normalise_name`: case, spaces and the separators
  ``_ - .`` do not count (``spinal cord`` = ``Spinal_Cord`` = ``SPINALCORD``).
  Nothing else is fuzzy: ``Cord`` matches ``SpinalCord`` only if it is an alias.
* Two ROIs that both match one structure are an ambiguity to resolve (the
  aliases file can pin the ROI to use: ``rois: {SpinalCord: "Cord new"}``),
  never a guess; a structure no ROI matches is missing.
* The spinal canal (or thecal sac) is never an alias of the spinal cord.
* A derived structure (``derived: PTV - PTV_boost``) is computed from the
  ROIs its operands match; with ``prefer_roi: true`` an ROI matching its name
  or aliases is used instead when there is one.

The result says, for each structure, which ROI was used and how it was found.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from plancheck.model import Finding, Severity
from plancheck.protocol.expressions import Expr, RoiName, format_expr, operand_names, substitute
from plancheck.protocol.schema import Protocol

__all__ = [
    "DerivedRoi",
    "MatchStatus",
    "StructureMatch",
    "StructureMatches",
    "UserAliases",
    "check_user_aliases",
    "forbidden_alias_reason",
    "match_structures",
    "normalise_name",
]

_SEPARATORS = re.compile(r"[\s_\-.]+")

# A structure whose normalised name contains the key never takes an alias containing any of
# the values (and vice versa): the spinal canal / thecal sac is not the spinal cord.
_NEVER_THE_SAME: tuple[tuple[str, tuple[str, ...]], ...] = (("cord", ("canal", "thecal")),)


def normalise_name(name: str) -> str:
    """The form names are compared in: NFKC, no spaces or ``_ - .``, case-folded."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", name)).casefold()


def forbidden_alias_reason(structure: str, alias: str) -> str | None:
    """Why ``alias`` may never name ``structure`` (``None`` when it may)."""
    s, a = normalise_name(structure), normalise_name(alias)
    for organ, others in _NEVER_THE_SAME:
        for x, y in ((s, a), (a, s)):
            if organ in x and any(o in y for o in others):
                return (
                    f"{alias!r} cannot name {structure!r}: the spinal canal (thecal sac) contains the "
                    "spinal cord but is not the cord; a cord limit evaluated on the canal is wrong"
                )
    return None


Name = Annotated[str, Field(min_length=1, max_length=64)]


class UserAliases(BaseModel):
    """A site's aliases file, merged with a protocol without editing it.

    ::

        aliases:            # more names for protocol structures
          SpinalCord: [Myelon, RM]
          PTV_boost: [PTV_GTV]
        rois:               # use exactly this ROI (resolves an ambiguity)
          PTV: "PTV 30 final"
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, title="plancheck aliases"
    )

    schema_version: Literal[1] = 1
    aliases: dict[Name, tuple[Name, ...]] = Field(
        default_factory=dict, description="Protocol structure name -> extra aliases."
    )
    rois: dict[Name, Name] = Field(
        default_factory=dict, description="Protocol structure name -> the exact ROI name to use."
    )


class MatchStatus(str, enum.Enum):
    MATCHED = "matched"
    DERIVED = "derived"
    MISSING = "missing"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class DerivedRoi:
    """A derived structure resolved to ROIs: ``expression``'s operands are ROI names."""

    definition: str
    expression: Expr

    @property
    def text(self) -> str:
        """The expression with ROI names, e.g. ``PTV_30 - PGTV``."""
        return format_expr(self.expression)

    @property
    def roi_names(self) -> tuple[str, ...]:
        return operand_names(self.expression)


@dataclass(frozen=True)
class StructureMatch:
    """What one protocol structure resolved to in a structure set.

    ``roi_name`` is set when an ROI was matched, ``derived`` when the
    structure is computed from ROIs; ``matched_by`` says how (shown in
    results); ``candidates`` lists the ROIs of an ambiguity; ``reason``
    explains a missing or ambiguous structure.
    """

    structure: str
    status: MatchStatus
    roi_name: str | None = None
    matched_by: str = ""
    derived: DerivedRoi | None = None
    candidates: tuple[str, ...] = ()
    reason: str = ""

    @property
    def usable(self) -> bool:
        return self.status in (MatchStatus.MATCHED, MatchStatus.DERIVED)

    @property
    def roi_label(self) -> str | None:
        """The ROI name, or the derived expression in ROI names."""
        if self.roi_name is not None:
            return self.roi_name
        return self.derived.text if self.derived is not None else None

    @property
    def key(self) -> str:
        """A stable key for caching a DVH of this structure."""
        if self.roi_name is not None:
            return f"roi:{self.roi_name}"
        if self.derived is not None:
            return f"derived:{self.derived.text}"
        return f"unresolved:{self.structure}"

    def to_dict(self) -> dict[str, object]:
        return {
            "structure": self.structure,
            "status": self.status.value,
            "roi": self.roi_label,
            "matched_by": self.matched_by,
            "candidates": list(self.candidates),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class StructureMatches:
    """The match of every protocol structure, in protocol order, and notes on the aliases."""

    matches: tuple[StructureMatch, ...]
    findings: tuple[Finding, ...] = ()
    _by_name: Mapping[str, StructureMatch] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {m.structure: m for m in self.matches})

    def __getitem__(self, structure: str) -> StructureMatch:
        return self._by_name[structure]

    @property
    def ambiguous(self) -> tuple[StructureMatch, ...]:
        return tuple(m for m in self.matches if m.status is MatchStatus.AMBIGUOUS)

    @property
    def missing(self) -> tuple[StructureMatch, ...]:
        return tuple(m for m in self.matches if m.status is MatchStatus.MISSING)


def _always_derived(protocol: Protocol, name: str) -> bool:
    s = protocol.structure(name)
    return s.derived is not None and not s.prefer_roi


def check_user_aliases(
    protocol: Protocol, aliases: UserAliases
) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems merging an aliases file into ``protocol`` (paths are in the aliases file).

    Structures the protocol does not define are not problems here (a site's
    file serves many protocols); :func:`match_structures` notes them.
    """
    names = {s.name for s in protocol.structures}
    owners: dict[str, str] = {}
    for s in protocol.structures:
        if s.derived is None or s.prefer_roi:
            for text in (s.name, *s.aliases):
                owners.setdefault(normalise_name(text), s.name)
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for structure, extra in aliases.aliases.items():
        if structure not in names:
            continue
        if _always_derived(protocol, structure):
            problems.append(
                (
                    ("aliases", structure),
                    f"{structure!r} is always derived in this protocol; aliases are not used",
                )
            )
            continue
        for j, alias in enumerate(extra):
            path: tuple[str | int, ...] = ("aliases", structure, j)
            reason = forbidden_alias_reason(structure, alias)
            if reason is not None:
                problems.append((path, reason))
                continue
            key = normalise_name(alias)
            owner = owners.get(key)
            if owner is not None and owner != structure:
                problems.append(
                    (
                        path,
                        f"{alias!r} already names {owner!r} in the protocol or this file: an ROI "
                        "with this name would match two structures",
                    )
                )
            owners.setdefault(key, structure)
    for structure in aliases.rois:
        if structure in names and _always_derived(protocol, structure):
            problems.append(
                (
                    ("rois", structure),
                    f"{structure!r} is always derived in this protocol; it takes no ROI",
                )
            )
    for structure, roi in aliases.rois.items():
        reason = forbidden_alias_reason(structure, roi)
        if structure in names and reason is not None:
            problems.append((("rois", structure), reason))
    return problems


def _describe(text: str, how: str, roi: str) -> str:
    exact = "" if roi == text else " (after normalising case, spaces and separators)"
    return f"{how} {text!r}{exact}"


def match_structures(
    protocol: Protocol,
    roi_names: Sequence[str],
    aliases: UserAliases | None = None,
    aliases_source: str = "the aliases file",
) -> StructureMatches:
    """Match every structure of ``protocol`` to the ROIs named ``roi_names``.

    ``aliases`` must already be checked against the protocol
    (:func:`check_user_aliases`). Ambiguities and missing structures are
    results, not exceptions; the evaluation decides what to do with them.
    """
    user = aliases if aliases is not None else UserAliases()
    by_norm: dict[str, list[str]] = {}
    for roi in roi_names:
        by_norm.setdefault(normalise_name(roi), []).append(roi)
    results: dict[str, StructureMatch] = {}
    pending: list[str] = []

    for s in protocol.structures:
        if s.derived is not None and not s.prefer_roi:
            pending.append(s.name)
            continue
        pinned = user.rois.get(s.name)
        if pinned is not None:
            hits = [r for r in roi_names if r == pinned]
            if len(hits) == 1:
                results[s.name] = StructureMatch(
                    s.name, MatchStatus.MATCHED, pinned, f"ROI pinned in {aliases_source}"
                )
            elif hits:
                results[s.name] = StructureMatch(
                    s.name,
                    MatchStatus.AMBIGUOUS,
                    candidates=tuple(hits),
                    reason=f"{aliases_source} pins ROI {pinned!r}, and {len(hits)} ROIs have that name",
                )
            else:
                results[s.name] = StructureMatch(
                    s.name,
                    MatchStatus.MISSING,
                    reason=f"{aliases_source} pins ROI {pinned!r}, and the structure set has no ROI of that name",
                )
            continue
        tried = [(s.name, "TG-263 name")]
        tried += [(a, "protocol alias") for a in s.aliases]
        tried += [(a, f"alias from {aliases_source}") for a in user.aliases.get(s.name, ())]
        found: dict[str, tuple[str, str]] = {}
        hits_all: list[str] = []
        for text, how in tried:
            for roi in by_norm.get(normalise_name(text), []):
                if roi not in found:
                    found[roi] = (text, how)
                    hits_all.extend(r for r in roi_names if r == roi)
        if len(hits_all) == 1:
            roi = hits_all[0]
            results[s.name] = StructureMatch(
                s.name, MatchStatus.MATCHED, roi, _describe(*found[roi], roi)
            )
        elif hits_all:
            listed = ", ".join(f"{r!r} ({_describe(*found[r], r)})" for r in found)
            results[s.name] = StructureMatch(
                s.name,
                MatchStatus.AMBIGUOUS,
                candidates=tuple(hits_all),
                reason=(
                    f"{len(hits_all)} ROIs match {s.name!r}: {listed}. plancheck does not guess: pin the "
                    f"ROI to use in an aliases file (--aliases), e.g. 'rois: {{{s.name}: \"{hits_all[0]}\"}}'"
                ),
            )
        elif s.derived is not None:
            pending.append(s.name)
        else:
            names = ", ".join(repr(t) for t, _ in tried)
            results[s.name] = StructureMatch(
                s.name,
                MatchStatus.MISSING,
                reason=(
                    f"no ROI of the structure set ({len(roi_names)} ROIs) is named {names} "
                    "(compared without case, spaces and separators); add the clinic's name to an aliases "
                    "file (--aliases) if the structure exists under another name"
                ),
            )

    def resolve(name: str) -> StructureMatch:
        if name in results:
            return results[name]
        s = protocol.structure(name)
        assert s.derived is not None
        expr = s.expression
        assert expr is not None
        replacements: dict[str, Expr] = {}
        for operand in operand_names(expr):
            m = resolve(operand)
            if m.status is MatchStatus.MATCHED and m.roi_name is not None:
                replacements[operand] = RoiName(m.roi_name)
            elif m.status is MatchStatus.DERIVED and m.derived is not None:
                replacements[operand] = m.derived.expression
            else:
                result = StructureMatch(
                    name,
                    MatchStatus.MISSING,
                    reason=f"it is derived as {s.derived!r}, and {operand!r} is {m.status.value}: {m.reason}",
                )
                results[name] = result
                return result
        resolved = substitute(expr, lambda n: replacements[n])
        how = f"derived: {s.derived}"
        if s.prefer_roi:
            how += " (no ROI matches its name or aliases)"
        result = StructureMatch(
            name, MatchStatus.DERIVED, matched_by=how, derived=DerivedRoi(s.derived, resolved)
        )
        results[name] = result
        return result

    for name in pending:
        resolve(name)

    known = {s.name for s in protocol.structures}
    findings = [
        Finding(
            Severity.INFO,
            "aliases-unknown-structure",
            f"{aliases_source} names {name!r}, which protocol {protocol.name!r} does not define; ignored",
        )
        for name in sorted(set(user.aliases) | set(user.rois))
        if name not in known
    ]
    return StructureMatches(tuple(results[s.name] for s in protocol.structures), tuple(findings))
