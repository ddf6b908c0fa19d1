"""The leak test: a course whose every identifying attribute carries a marker, through every output.

The course is the project's spine phantom with a cord that fails (``sib-cord-fail``). Every
attribute of the DICOM Basic Application Level Confidentiality Profile (PS3.15 Table E.1-1)
whose value is text, every person name, date, date-time and time, is given a marker value of
its own in every file (top level, and where the attribute already sits in a sequence item);
every UID is remapped, half of them to the ``2.25.<decimal>`` form and half to a dotted root,
consistently across the files. The folder and the files are named after the patient
(``QZX…FAMILY_QZX…GIVEN_<birth date>``, the plan label, the ID, the institution).

``plancheck evaluate`` writes every format (table, json, csv, html, pdf) and ``plancheck
batch --pdf`` its reports, summaries, overview and resume state, all with ``--anonymize``.
Every output file (the PDFs as text, with ``pdftotext``) and every output file name is then
searched for every marker in every spelling: any case, any separators (markers are compared
with every non-alphanumeric character removed), each part of a person's name on its own, dates
in every common format. The number of hits must be zero, and the clinical content of the
anonymised evaluation (protocol, metrics, goals, sources, values, statuses, ROI names) must be
the same as without anonymisation.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset

from plancheck.cli import main
from plancheck.dicom.identity import IDENTIFYING_KEYWORDS

pytestmark = pytest.mark.slow

TEXT_VRS = ("LO", "SH", "ST", "LT", "UT", "UC", "AE", "CS", "AS")
BULKY = {"ROIContourSequence", "ContourSequence", "ControlPointSequence", "DVHSequence", "ContourImageSequence"}
STANDARD_UID = "1.2.840.10008."
MONTHS = [m.lower() for m in calendar.month_name[1:]]


# --------------------------------------------------------------------------- the marked course


class Markers:
    """One distinctive marker per attribute (letters q, z, x never occur in hex pseudonyms)."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self.names: dict[str, tuple[str, str, str]] = {}
        self.dates: dict[str, tuple[int, int, int]] = {}
        self.times: dict[str, str] = {}
        self.uids: dict[str, str] = {}

    def _index(self, keyword: str) -> int:
        return int(hashlib.sha256(keyword.encode()).hexdigest()[:6], 16)

    def value(self, keyword: str, vr: str) -> str | None:
        k = self._index(keyword)
        code = f"{k % 46656:03X}".replace("0", "Q").replace("1", "Z")[-3:]
        if vr == "PN":
            parts = (f"QZX{code}FAM", f"QZX{code}GIV", f"QZX{code}MID")
            self.names[keyword] = parts
            return "^".join(parts)
        if vr in ("DA", "DT"):
            ymd = (1901 + k % 90, 1 + k % 12, 1 + k % 28)
            self.dates[keyword] = ymd
            text = f"{ymd[0]:04d}{ymd[1]:02d}{ymd[2]:02d}"
            return text + ("101112.654321" if vr == "DT" else "")
        if vr == "TM":
            text = f"{k % 24:02d}{k % 60:02d}{(k // 60) % 60:02d}.{100000 + k % 899999:06d}"
            self.times[keyword] = text
            return text
        if vr == "AS":
            text = f"{k % 100:03d}W"
        elif vr in ("SH", "CS", "AE"):
            text = f"QZX{code}{keyword[:8].upper()}"[:16]
        else:
            text = f"QZX{code} {keyword} marker"
        self.texts[keyword] = text
        return text

    def uid(self, uid: str) -> str:
        if uid.startswith(STANDARD_UID):
            return uid
        if uid not in self.uids:
            h = int(hashlib.sha256(uid.encode()).hexdigest(), 16)
            self.uids[uid] = f"2.25.{h % 10**38}" if h % 2 else f"1.2.826.0.1.3680043.8.498.{h % 10**18}"
        return self.uids[uid]


def _mark(ds: Dataset, markers: Markers, *, top: bool) -> None:
    for tag in list(ds.keys()):
        if tag.is_private or tag.group in (0x7FE0,):
            continue
        try:
            vr, keyword = dictionary_VR(tag), keyword_for_tag(tag)
        except KeyError:
            continue
        element = ds[tag]
        if vr == "SQ":
            if keyword not in BULKY:
                for item in element.value or ():
                    _mark(item, markers, top=False)
        elif vr == "UI":
            values = element.value if isinstance(element.value, list) else [element.value]
            new = [markers.uid(str(v)) for v in values]
            element.value = new if isinstance(element.value, list) else new[0]
        elif keyword in IDENTIFYING_KEYWORDS or vr in ("PN", "DA", "DT", "TM"):
            element.value = markers.value(keyword, vr)
    if top:  # every attribute of the profile, present or not
        for keyword in sorted(IDENTIFYING_KEYWORDS):
            tag = tag_for_keyword(keyword)
            if tag is not None and keyword not in ds and dictionary_VR(tag) in TEXT_VRS:
                setattr(ds, keyword, markers.value(keyword, dictionary_VR(tag)))
        for keyword, vr in (("ReferringPhysicianName", "PN"), ("OperatorsName", "PN"), ("PerformingPhysicianName", "PN"),
                            ("PatientBirthTime", "TM"), ("AcquisitionDateTime", "DT")):
            if keyword not in ds:
                setattr(ds, keyword, markers.value(keyword, vr))


def _marked_course(base: Path) -> tuple[Path, Markers, list[str]]:
    from plancheck.phantoms.spine import write_spine

    plain = base / "plain"
    write_spine("sib-cord-fail", plain)
    markers = Markers()
    datasets = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # marker values break VR rules on purpose; pydicom warns
        for path in sorted(plain.glob("*.dcm")):
            ds = pydicom.dcmread(path)
            _mark(ds, markers, top=True)
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            datasets.append(ds)
        family, given, _middle = markers.names["PatientName"]
        y, m, d = markers.dates["PatientBirthDate"]
        folder = base / "root" / f"{family}_{given}_{y:04d}{m:02d}{d:02d}" / markers.texts["InstitutionName"].replace(" ", "_")
        folder.mkdir(parents=True)
        originals = [uid for uid in markers.uids]
        for ds in datasets:
            modality = str(ds.Modality)
            if modality == "RTPLAN":
                name = f"RP.{ds.RTPlanLabel}.dcm"
            elif modality == "RTDOSE":
                name = f"RD_{ds.PatientID}_{ds.SOPInstanceUID}.dcm"
            else:
                name = f"RS {ds.StudyDescription}.dcm"
            pydicom.dcmwrite(folder / name, ds)
    # files that make findings quote names: notes, a copy of the structure set, a cut dose
    (folder / f"notes {family} {given}.txt").write_text("handover notes\n")
    (rs_file,) = folder.glob("RS *.dcm")
    (folder / f"copy of {family}^{given}.dcm").write_bytes(rs_file.read_bytes())
    (rd_file,) = folder.glob("RD_*.dcm")
    (folder / f"RD {y:04d}-{m:02d}-{d:02d} cut.dcm").write_bytes(rd_file.read_bytes()[:3000])
    shutil.rmtree(plain)
    return folder, markers, [*originals, *markers.uids.values()]


# --------------------------------------------------------------------------- searching


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _date_spellings(y: int, m: int, d: int) -> list[str]:
    name = MONTHS[m - 1]
    forms = [f"{y:04d}{m:02d}{d:02d}", f"{d:02d}{m:02d}{y:04d}", f"{m:02d}{d:02d}{y:04d}"]
    for sep in "-./ _":
        forms += [f"{y:04d}{sep}{m:02d}{sep}{d:02d}", f"{y:04d}{sep}{m}{sep}{d}", f"{d:02d}{sep}{m:02d}{sep}{y:04d}",
                  f"{d}{sep}{m}{sep}{y:04d}", f"{m:02d}{sep}{d:02d}{sep}{y:04d}", f"{m}{sep}{d}{sep}{y:04d}",
                  f"{d:02d}{sep}{m:02d}{sep}{y % 100:02d}"]
    for month in (name, name[:3]):
        forms += [f"{d} {month} {y}", f"{d:02d}-{month}-{y}", f"{month} {d}, {y}", f"{d}{month}{y}", f"{y}-{month}-{d:02d}"]
    return forms


def _hits(text: str, markers: Markers, uids: list[str]) -> list[str]:
    hits = []
    normal = _normal(text)
    lower = text.lower()
    for keyword, value in markers.texts.items():
        if _normal(value) and _normal(value) in normal:
            hits.append(f"{keyword}={value!r}")
    for keyword, parts in markers.names.items():
        for part in parts:
            if _normal(part) in normal:
                hits.append(f"{keyword} part {part!r}")
    for keyword, (y, m, d) in markers.dates.items():
        for form in _date_spellings(y, m, d):
            if re.search(rf"(?<![0-9]){re.escape(form.lower())}(?![0-9])", lower):
                hits.append(f"{keyword} date {form!r}")
                break
    for keyword, value in markers.times.items():
        hh, mm, ss, frac = value[:2], value[2:4], value[4:6], value[7:]
        for form in (value, f"{hh}:{mm}:{ss}.{frac}", f"{hh}{mm}{ss}{frac}"):
            if form in text:
                hits.append(f"{keyword} time {form!r}")
    for uid in uids:
        if re.search(rf"(?<![0-9.]){re.escape(uid)}(?![0-9])", text):
            hits.append(f"UID {uid}")
    return hits


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _read(path: Path) -> str:
    if path.suffix == ".pdf":
        return _pdf_text(path)
    return path.read_text(encoding="utf-8", errors="replace")


# --------------------------------------------------------------------------- the test


def test_no_marker_survives_anonymisation_in_any_output(tmp_path: Path) -> None:
    pytest.importorskip("weasyprint", reason="the PDF outputs need the extra plancheck[pdf]")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is needed to search the PDFs")
    course, markers, uids = _marked_course(tmp_path)
    # the markers really are in the input: the plain evaluation shows them
    key = tmp_path / "site.key"
    key.write_text("a department's long secret for the leak test\n")
    runner = CliRunner()
    plain = runner.invoke(main, ["evaluate", str(course), "--format", "json", "-o", str(tmp_path / "plain.json")])
    assert plain.exit_code in (1, 3), plain.output  # the cord fails (an unreadable file may block the verdict)
    plain_doc = json.loads((tmp_path / "plain.json").read_text())
    plain_hits = _hits((tmp_path / "plain.json").read_text(), markers, uids)
    assert len(plain_hits) > 15, "the course carries too few markers into the outputs to test anything"
    codes = {f["code"] for f in plain_doc["findings"]}
    assert {"not-dicom", "duplicate-sop-instance-uid", "dicom-unreadable"} <= codes, codes
    assert len(markers.texts) + len(markers.names) > 150 and len(markers.dates) >= 5 and len(markers.uids) >= 8

    out = tmp_path / "out"
    out.mkdir()
    terminal = []
    for fmt in ("table", "json", "csv", "html", "pdf"):
        result = runner.invoke(
            main,
            ["evaluate", str(course), "--format", fmt, "-o", str(out / f"evaluation.{fmt}"),
             "--anonymize", "--anonymize-key", str(key)],
        )
        assert result.exit_code == plain.exit_code, result.output
        terminal.append(result.output + result.stderr)
    batch_out = out / "batch"
    result = runner.invoke(
        main,
        ["batch", str(course.parents[1]), "-o", str(batch_out), "--pdf", "-j", "1", "--resume",
         "--anonymize", "--anonymize-key", str(key)],
    )
    assert result.exit_code == plain.exit_code, result.output
    terminal.append(result.output + result.stderr)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert {p.suffix for p in files} >= {".table", ".json", ".csv", ".html", ".pdf", ".jsonl"}
    assert (batch_out / ".plancheck-batch-state.json").is_file() and (batch_out / "run.json").is_file()
    assert len(list((batch_out / "plans").glob("*.pdf"))) == 1

    hits: dict[str, list[str]] = {}
    for path in files:
        found = _hits(_read(path), markers, uids) + _hits(str(path.relative_to(tmp_path)), markers, uids)
        if found:
            hits[str(path.relative_to(out))] = found
    terminal_hits = _hits("\n".join(terminal), markers, uids)
    assert hits == {} and terminal_hits == [], json.dumps({"files": hits, "terminal": terminal_hits}, indent=1)[:3000]

    # clinical text intact: the anonymised evaluation says the same about the plan
    anon = json.loads((out / "evaluation.json").read_text())
    assert anon["protocol"] == plain_doc["protocol"] | {"selected": anon["protocol"]["selected"]}
    clinical = ("structure", "matched_roi", "metric", "value", "unit", "goal", "variation", "status", "priority", "source")
    assert [{k: c[k] for k in clinical} for c in anon["constraints"]] == [
        {k: c[k] for k in clinical} for c in plain_doc["constraints"]
    ]
    assert [s["name"] for s in anon["structures"]] == [s["name"] for s in plain_doc["structures"]]
    # the verdict is the same; its reasons may quote (pseudonymised) file names, so they are counted
    def verdict(summary: dict) -> dict:
        v = summary["verdict"]
        return {k: (len(x) if isinstance(x, list) else x) for k, x in v.items() if k != "line"}

    assert {k: v for k, v in anon["summary"].items() if k != "verdict"} == {
        k: v for k, v in plain_doc["summary"].items() if k != "verdict"
    }
    assert verdict(anon["summary"]) == verdict(plain_doc["summary"])
    # stable pseudonyms: the same key gives the batch report and evaluate the same patient pseudonym
    (batch_doc,) = list((batch_out / "plans").glob("*.json"))
    assert json.loads(batch_doc.read_text())["patient"] == anon["patient"]
