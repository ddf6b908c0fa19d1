"""The DVH metric grammar of AAPM TG-263 §9 (after Mayo et al.), parsed once.

A metric is a query and an output unit in brackets::

    Max[Gy]  Min[Gy]  Mean[Gy]  Volume[cc]
    D95%[Gy]  D0.03cc[Gy]  D2%[%]            dose received by at least that volume
    V20Gy[%]  V20Gy[cc]  V95%[%]  V3000cGy[cc] volume receiving at least that dose
    CV20Gy[cc]                                volume receiving less than that dose
    DC2cc[Gy]                                 dose to the coldest volume
    D0.03cc[EQD2Gy(a/b=2)]  Mean[BED(a/b=3)]  biological dose units

``V95%`` is relative to a prescription; ``[%]`` on a dose query is percent of
the prescription, on a volume query percent of the structure volume. Keywords
are matched without regard to case; the original text is kept as the metric's
key, so JSON output is keyed exactly as the user wrote it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from plancheck.errors import MetricSyntaxError

__all__ = ["DoseQuantity", "Metric", "OutputUnit", "Query", "parse_metric"]


class Query(str, enum.Enum):
    MAX = "Max"
    MIN = "Min"
    MEAN = "Mean"
    VOLUME = "Volume"
    DOSE_AT_VOLUME = "D"
    VOLUME_AT_DOSE = "V"
    COLD_VOLUME_AT_DOSE = "CV"
    DOSE_TO_COLDEST_VOLUME = "DC"


class OutputUnit(str, enum.Enum):
    GY = "Gy"
    CGY = "cGy"
    PERCENT = "%"
    CC = "cc"
    EQD2_GY = "EQD2Gy"
    BED_GY = "BED"


class DoseKind(str, enum.Enum):
    PHYSICAL = "physical"
    EQD2 = "EQD2"
    BED = "BED"


@dataclass(frozen=True)
class DoseQuantity:
    """Which dose distribution a metric reads: physical, or EQD2/BED with an α/β."""

    kind: DoseKind = DoseKind.PHYSICAL
    alpha_beta_gy: float | None = None

    def __str__(self) -> str:
        if self.kind is DoseKind.PHYSICAL:
            return "physical dose"
        return f"{self.kind.value} (α/β = {self.alpha_beta_gy:g} Gy)"


PHYSICAL = DoseQuantity()

_DOSE_QUERIES = {Query.MAX, Query.MIN, Query.MEAN, Query.DOSE_AT_VOLUME, Query.DOSE_TO_COLDEST_VOLUME}
_VOLUME_QUERIES = {Query.VOLUME, Query.VOLUME_AT_DOSE, Query.COLD_VOLUME_AT_DOSE}


@dataclass(frozen=True)
class Metric:
    """A parsed DVH metric.

    ``parameter`` is the number inside the query (95 in ``D95%``), with
    ``parameter_unit`` one of ``"%"``, ``"cc"``, ``"Gy"``, ``"cGy"`` (``None``
    for Max/Min/Mean/Volume). ``parameter_gy`` converts a cGy parameter.
    """

    text: str
    query: Query
    parameter: float | None
    parameter_unit: str | None
    output_unit: OutputUnit
    alpha_beta_gy: float | None = None

    @property
    def returns_dose(self) -> bool:
        return self.query in _DOSE_QUERIES

    @property
    def dose_quantity(self) -> DoseQuantity:
        if self.output_unit is OutputUnit.EQD2_GY:
            return DoseQuantity(DoseKind.EQD2, self.alpha_beta_gy)
        if self.output_unit is OutputUnit.BED_GY:
            return DoseQuantity(DoseKind.BED, self.alpha_beta_gy)
        return PHYSICAL

    @property
    def needs_prescription(self) -> bool:
        """True when the value depends on a prescription dose (V95%, D2%[%])."""
        relative_parameter = (
            self.query in (Query.VOLUME_AT_DOSE, Query.COLD_VOLUME_AT_DOSE)
            and self.parameter_unit == "%"
        )
        relative_output = self.returns_dose and self.output_unit is OutputUnit.PERCENT
        return relative_parameter or relative_output

    @property
    def unit_label(self) -> str:
        """Unit for display: Gy, cGy, %, cc, Gy (EQD2, a/b=2), ..."""
        if self.output_unit is OutputUnit.EQD2_GY:
            return f"Gy EQD2(a/b={self.alpha_beta_gy:g})"
        if self.output_unit is OutputUnit.BED_GY:
            return f"Gy BED(a/b={self.alpha_beta_gy:g})"
        return self.output_unit.value

    def __str__(self) -> str:
        return self.text


_NUMBER = r"\d+(?:\.\d*)?|\.\d+"
_QUERY_RE = re.compile(
    r"(?P<kw>Max|Min|Mean|Volume)"
    r"|(?P<dc>DC)(?P<dcn>" + _NUMBER + r")(?P<dcu>%|cc)"
    r"|(?P<cv>CV)(?P<cvn>" + _NUMBER + r")(?P<cvu>cGy|Gy|%)"
    r"|(?P<d>D)(?P<dn>" + _NUMBER + r")(?P<du>%|cc)"
    r"|(?P<v>V)(?P<vn>" + _NUMBER + r")(?P<vu>cGy|Gy|%)",
    re.IGNORECASE,
)
_UNIT_RE = re.compile(
    r"\[(?:(?P<plain>cGy|Gy|%|cc)"
    r"|(?P<bio>EQD2Gy|EQD2|BEDGy|BED)\(\s*a/b\s*=\s*(?P<ab>" + _NUMBER + r")\s*(?:Gy)?\s*\))\]",
    re.IGNORECASE,
)

_PLAIN_UNITS = {"gy": OutputUnit.GY, "cgy": OutputUnit.CGY, "%": OutputUnit.PERCENT, "cc": OutputUnit.CC}


def _canonical_unit(text: str) -> str:
    return {"gy": "Gy", "cgy": "cGy", "%": "%", "cc": "cc"}[text.lower()]


def parse_metric(text: str) -> Metric:
    """Parse a TG-263 metric string.

    Raises
    ------
    MetricSyntaxError
        With the position of the first character that does not fit.
    """
    if not isinstance(text, str):
        raise MetricSyntaxError(str(text), 0, "a string such as 'D95%[Gy]'")
    stripped = text.strip()
    offset = len(text) - len(text.lstrip())
    m = _QUERY_RE.match(stripped)
    if m is None:
        raise MetricSyntaxError(
            text, offset, "Max, Min, Mean, Volume, D<x>%|cc, V<x>Gy|cGy|%, CV<x>Gy, DC<x>cc"
        )
    parameter: float | None = None
    parameter_unit: str | None = None
    if m.group("kw"):
        query = Query(m.group("kw").capitalize())
    else:
        for key, q in (
            ("dc", Query.DOSE_TO_COLDEST_VOLUME),
            ("cv", Query.COLD_VOLUME_AT_DOSE),
            ("d", Query.DOSE_AT_VOLUME),
            ("v", Query.VOLUME_AT_DOSE),
        ):
            if m.group(key):
                query = q
                parameter = float(m.group(key + "n"))
                parameter_unit = _canonical_unit(m.group(key + "u"))
                break
    pos = m.end()
    u = _UNIT_RE.match(stripped, pos)
    if u is None:
        expected = (
            "an output unit in brackets: [Gy], [cGy], [%], [EQD2Gy(a/b=2)] or [BED(a/b=3)]"
            if query in _DOSE_QUERIES
            else "an output unit in brackets: [cc] or [%]"
        )
        raise MetricSyntaxError(text, offset + pos, expected)
    if u.end() != len(stripped):
        raise MetricSyntaxError(text, offset + u.end(), "the end of the metric")
    alpha_beta: float | None = None
    if u.group("plain"):
        output_unit = _PLAIN_UNITS[u.group("plain").lower()]
    else:
        output_unit = (
            OutputUnit.EQD2_GY if u.group("bio").upper().startswith("EQD2") else OutputUnit.BED_GY
        )
        alpha_beta = float(u.group("ab"))
        if alpha_beta <= 0:
            raise MetricSyntaxError(text, offset + u.start("ab"), "an α/β greater than 0")

    unit_pos = offset + pos + 1
    if query in _DOSE_QUERIES and output_unit is OutputUnit.CC:
        raise MetricSyntaxError(text, unit_pos, "a dose unit ([Gy], [cGy], [%], [EQD2Gy(a/b=..)])")
    if query in _VOLUME_QUERIES and output_unit not in (OutputUnit.CC, OutputUnit.PERCENT):
        raise MetricSyntaxError(text, unit_pos, "a volume unit ([cc] or [%])")
    if query is Query.VOLUME and output_unit is not OutputUnit.CC:
        raise MetricSyntaxError(text, unit_pos, "[cc] (Volume is an absolute volume)")
    if (
        parameter is not None
        and parameter_unit == "%"
        and query in (Query.DOSE_AT_VOLUME, Query.DOSE_TO_COLDEST_VOLUME)
        and parameter > 100
    ):
        raise MetricSyntaxError(text, offset + 1, "a volume percentage between 0 and 100")
    return Metric(
        text=text,
        query=query,
        parameter=parameter,
        parameter_unit=parameter_unit,
        output_unit=output_unit,
        alpha_beta_gy=alpha_beta,
    )
