"""Indexing a folder: every DICOM file in it, what it is and what it references.

:func:`index_folder` searches a folder recursively (file names do not matter),
reads each DICOM file once and classifies it by SOP Class UID. RT Structure
Sets and RT Plans are read whole; RT Doses without their pixel data, which
stays in the file until the dose is loaded; images are read for their class
only and not kept. The datasets of the RT objects are kept in the index, so
loading never parses a header twice.

Nothing in a folder stops indexing: non-DICOM files, unreadable or truncated
files, DICOM objects plancheck does not use, duplicated objects, unreadable
sub-folders and symbolic-link loops are recorded (``FolderIndex.findings``).
Copies of one SOP Instance UID with the same content are one object (an
info); copies whose content differs are an error on each file, and none of
them is used: which one is right cannot be known.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydicom.dataset import Dataset

from plancheck.dicom._integrity import dataset_offset
from plancheck.dicom._read import DECODE_ERRORS, Fields, capture_warnings, read_dataset, sniff
from plancheck.dicom.kinds import FileKind, kind_of_sop_class, sop_class_name
from plancheck.errors import DicomReadError, InputError
from plancheck.model import Finding, PatientInfo, Severity

__all__ = ["MAX_DEPTH", "MAX_FILES", "FolderIndex", "IndexedFile", "SkippedFile", "index_folder"]

MAX_FILES = 100_000  # files examined in one folder tree
MAX_DEPTH = 64  # folder nesting followed
_LISTED = 20  # non-DICOM / ignored files named one by one before a summary


@dataclass(frozen=True, eq=False)
class IndexedFile:
    """One DICOM file: its class, identity and references, and (RT objects) its dataset."""

    path: Path
    kind: FileKind
    sop_class_uid: str
    sop_instance_uid: str
    modality: str | None
    patient: PatientInfo
    study_instance_uid: str | None
    frame_of_reference_uid: str | None
    referenced_plan_uids: tuple[str, ...] = ()
    referenced_structure_set_uids: tuple[str, ...] = ()
    dataset: Dataset | None = field(default=None, repr=False)
    findings: tuple[Finding, ...] = ()

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class SkippedFile:
    """A file that could not be used, and why."""

    path: Path
    reason: str


@dataclass(frozen=True, eq=False)
class FolderIndex:
    """What a folder holds.

    ``files`` are the DICOM files read (one per SOP Instance UID for RT
    objects; later identical copies are in ``duplicates``; every copy of a
    UID whose copies differ is in ``conflicts`` and none is in ``files``),
    ``non_dicom`` the files that are not DICOM, ``unreadable`` the DICOM files
    that could not be read (truncated, malformed). ``findings`` describe all
    of it.
    """

    root: Path
    files: tuple[IndexedFile, ...]
    non_dicom: tuple[SkippedFile, ...] = ()
    unreadable: tuple[SkippedFile, ...] = ()
    duplicates: tuple[IndexedFile, ...] = ()
    findings: tuple[Finding, ...] = ()
    conflicts: tuple[IndexedFile, ...] = ()

    @property
    def conflicting_uids(self) -> frozenset[str]:
        """SOP Instance UIDs held by several files with different content."""
        return frozenset(f.sop_instance_uid for f in self.conflicts)

    def of_kind(self, *kinds: FileKind) -> tuple[IndexedFile, ...]:
        return tuple(f for f in self.files if f.kind in kinds)

    @property
    def structure_sets(self) -> tuple[IndexedFile, ...]:
        return self.of_kind(FileKind.RTSTRUCT)

    @property
    def plans(self) -> tuple[IndexedFile, ...]:
        return self.of_kind(FileKind.RTPLAN, FileKind.RTIONPLAN)

    @property
    def doses(self) -> tuple[IndexedFile, ...]:
        return self.of_kind(FileKind.RTDOSE)

    def counts(self) -> dict[str, int]:
        """Number of files of each kind, plus non-DICOM and unreadable ones."""
        out = {k.value: 0 for k in FileKind}
        for f in self.files:
            out[f.kind.value] += 1
        out["DUPLICATE"] = len(self.duplicates)
        out["CONFLICT"] = len(self.conflicts)
        out["NON_DICOM"] = len(self.non_dicom)
        out["UNREADABLE"] = len(self.unreadable)
        return out


# --------------------------------------------------------------------------- walking


def _walk(root: Path, findings: list[Finding]) -> list[Path]:
    """Regular files under ``root``, sorted; folders reached twice (link loops) are skipped."""
    files: list[Path] = []
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Path, int]] = [(root, 0)]
    root_stat = root.stat()
    seen.add((root_stat.st_dev, root_stat.st_ino))
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "folder-unreadable",
                    f"the folder {folder} cannot be listed ({exc.strerror or exc}); its files were not examined",
                    str(folder),
                )
            )
            continue
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError:
                findings.append(
                    Finding(
                        Severity.WARNING,
                        "broken-link",
                        f"{entry.name} is a link to nothing (or cannot be examined); skipped",
                        str(path),
                    )
                )
                continue
            if stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    findings.append(
                        Finding(
                            Severity.INFO,
                            "folder-visited-twice",
                            f"{path} leads to a folder already searched (a symbolic-link loop or a "
                            "second link); not searched again",
                            str(path),
                        )
                    )
                    continue
                seen.add(key)
                if depth + 1 > MAX_DEPTH:
                    findings.append(
                        Finding(
                            Severity.WARNING,
                            "folder-too-deep",
                            f"{path} is nested more than {MAX_DEPTH} folders deep; not searched",
                            str(path),
                        )
                    )
                    continue
                subfolders.append((path, depth + 1))
            elif stat.S_ISREG(st.st_mode):
                files.append(path)
                if len(files) >= MAX_FILES:
                    findings.append(
                        Finding(
                            Severity.WARNING,
                            "too-many-files",
                            f"more than {MAX_FILES} files under {root}; the rest were not examined. "
                            "Point plancheck at the folder of one plan.",
                            str(root),
                        )
                    )
                    return sorted(files)
        stack.extend(reversed(subfolders))
    return sorted(files)


# --------------------------------------------------------------------------- one file

_NOT_DICOM = "not-dicom"


def _sop_class(fields: Fields, ds: Dataset) -> str | None:
    uid = fields.text("SOPClassUID")
    if uid is not None:
        return uid
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        return Fields(meta, fields.path, "file meta").text("MediaStorageSOPClassUID")
    return None


def _frame_of_reference(fields: Fields, kind: FileKind) -> str | None:
    if kind != FileKind.RTSTRUCT:
        return fields.text("FrameOfReferenceUID")
    for k, item in enumerate(fields.sequence("ReferencedFrameOfReferenceSequence")):
        uid = fields.item(item, f"ReferencedFrameOfReferenceSequence item {k + 1}").text(
            "FrameOfReferenceUID"
        )
        if uid is not None:
            return uid
    return None


def _read_one(path: Path, preamble: bool) -> IndexedFile:
    """Read and classify one DICOM file (raises DicomReadError)."""
    notes: list[Finding] = []
    with capture_warnings(path, notes):
        ds = read_dataset(path, preamble=preamble)
        fields = Fields(ds, path, "DICOM file")
        sop_class = _sop_class(fields, ds)
        kind = kind_of_sop_class(sop_class) if sop_class is not None else None
        if sop_class is None or kind is None:
            raise DicomReadError(
                "the file has no SOP Class UID (SOPClassUID, MediaStorageSOPClassUID), so what it "
                "holds is unknown",
                path=path,
                hint="Re-export it from the planning system.",
            )
        fields.what = kind.label
        uid = fields.text("SOPInstanceUID")
        if uid is None:
            meta = getattr(ds, "file_meta", None)
            uid = (
                Fields(meta, path, "file meta").text("MediaStorageSOPInstanceUID")
                if meta is not None
                else None
            )
        if uid is None:
            raise DicomReadError(
                f"the {kind.label} has no SOP Instance UID, so nothing can reference it",
                path=path,
                hint="Re-export it from the planning system.",
            )
        plan_refs: tuple[str, ...] = ()
        ss_refs: tuple[str, ...] = ()
        if kind == FileKind.RTDOSE:
            plan_refs = fields.referenced_uids("ReferencedRTPlanSequence")
        if kind in (FileKind.RTDOSE, FileKind.RTPLAN, FileKind.RTIONPLAN):
            ss_refs = fields.referenced_uids("ReferencedStructureSetSequence")
        if kind.is_rt and preamble is False:
            notes.append(
                Finding(
                    Severity.INFO,
                    "no-dicom-preamble",
                    f"{path.name} has no DICOM preamble and file meta information; read as a bare dataset",
                    str(path),
                )
            )
        indexed = IndexedFile(
            path=path,
            kind=kind,
            sop_class_uid=sop_class,
            sop_instance_uid=uid,
            modality=fields.text("Modality"),
            patient=fields.patient(),
            study_instance_uid=fields.text("StudyInstanceUID"),
            frame_of_reference_uid=_frame_of_reference(fields, kind),
            referenced_plan_uids=plan_refs,
            referenced_structure_set_uids=ss_refs,
            dataset=ds if kind.is_rt else None,
        )
    if notes:
        indexed = replace(indexed, findings=tuple(notes))
    return indexed


# --------------------------------------------------------------------------- the folder


def index_folder(path: Path, paths: Sequence[Path] | None = None) -> FolderIndex:
    """Index every DICOM file under ``path`` (recursively), reading each once.

    ``paths``, when given, are the files to index instead of every file under
    ``path`` (batch mode: the files of one course, found by their references).

    Raises
    ------
    InputError
        When ``path`` is not a folder that can be listed.
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError(
            "is not a folder" if root.exists() else "does not exist",
            path=root,
            hint="Give the folder that holds the plan's DICOM files.",
        )
    findings: list[Finding] = []
    try:
        candidates = _walk(root, findings) if paths is None else sorted(Path(f) for f in paths)
    except OSError as exc:
        raise InputError(f"the folder cannot be listed ({exc.strerror or exc})", path=root) from exc

    files: list[IndexedFile] = []
    non_dicom: list[SkippedFile] = []
    unreadable: list[SkippedFile] = []
    for candidate in candidates:
        try:
            size = candidate.stat().st_size
        except OSError as exc:
            unreadable.append(SkippedFile(candidate, f"cannot be examined ({exc.strerror or exc})"))
            continue
        looks = sniff(candidate) if size > 0 else "the file is empty"
        if isinstance(looks, str):
            non_dicom.append(SkippedFile(candidate, looks))
            continue
        try:
            files.append(_read_one(candidate, preamble=looks))
        except DicomReadError as exc:
            unreadable.append(
                SkippedFile(candidate, exc.message + (f" {exc.hint}" if exc.hint else ""))
            )

    kept, duplicates, conflicts = _deduplicate(files, findings)
    for f in kept:
        findings.extend(f.findings)
    _note_skipped(root, non_dicom, unreadable, kept, findings)
    _note_patients(kept, findings)
    return FolderIndex(
        root,
        tuple(kept),
        tuple(non_dicom),
        tuple(unreadable),
        tuple(duplicates),
        tuple(findings),
        tuple(conflicts),
    )


def _deduplicate(
    files: list[IndexedFile], findings: list[Finding]
) -> tuple[list[IndexedFile], list[IndexedFile], list[IndexedFile]]:
    """One RT object per SOP Instance UID: (kept, identical copies, conflicting copies).

    Identical copies (the same data set) are an info and the first by path is
    used; copies that differ are an error on each file, and none is used.
    """
    by_uid: dict[str, list[IndexedFile]] = {}
    order: list[IndexedFile | str] = []
    for f in files:
        if not f.kind.is_rt:
            order.append(f)
            continue
        if f.sop_instance_uid not in by_uid:
            by_uid[f.sop_instance_uid] = []
            order.append(f.sop_instance_uid)
        by_uid[f.sop_instance_uid].append(f)
    kept: list[IndexedFile] = []
    duplicates: list[IndexedFile] = []
    conflicts: list[IndexedFile] = []
    for item in order:
        if isinstance(item, IndexedFile):
            kept.append(item)
            continue
        copies = by_uid[item]
        first = copies[0]
        if len(copies) == 1:
            kept.append(first)
            continue
        different = [c for c in copies[1:] if not _same_content(first, c)]
        if not different:
            kept.append(first)
            duplicates.extend(copies[1:])
            for c in copies[1:]:
                findings.append(
                    Finding(
                        Severity.INFO,
                        "duplicate-sop-instance-uid",
                        f"{c.path.name} is an identical copy of {first.path.name} (SOP Instance UID "
                        f"{c.sop_instance_uid}); it is read once",
                        str(c.path),
                    )
                )
            continue
        conflicts.extend(copies)
        names = ", ".join(c.path.name for c in copies)
        for c in copies:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "duplicate-sop-instance-uid-differs",
                    f"{c.path.name} shares its SOP Instance UID ({c.sop_instance_uid}) with "
                    f"{len(copies) - 1} other file{'s' if len(copies) > 2 else ''} of different content "
                    f"({names}); which is right cannot be known, so none is used. Keep the right copy "
                    "only, or export again.",
                    str(c.path),
                )
            )
    return kept, duplicates, conflicts


def _same_content(a: IndexedFile, b: IndexedFile) -> bool:
    """Whether two files hold the same data set (the bytes after the file meta information)."""
    try:
        if _content_digest(a.path) == _content_digest(b.path):
            return True
        if a.dataset is None or b.dataset is None:
            return False
        syntax_a = getattr(getattr(a.dataset, "file_meta", None), "TransferSyntaxUID", None)
        syntax_b = getattr(getattr(b.dataset, "file_meta", None), "TransferSyntaxUID", None)
        if syntax_a == syntax_b:
            return False
        return bool(a.dataset == b.dataset)  # the same data in two encodings
    except _COMPARE_ERRORS:
        return False


_COMPARE_ERRORS: tuple[type[BaseException], ...] = (OSError, *DECODE_ERRORS)


def _content_digest(path: Path) -> str:
    """SHA-256 of a file's bytes after its preamble and file meta information."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        fh.seek(dataset_offset(path))
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _note_skipped(
    root: Path,
    non_dicom: list[SkippedFile],
    unreadable: list[SkippedFile],
    files: list[IndexedFile],
    findings: list[Finding],
) -> None:
    for s in unreadable:
        findings.append(
            Finding(
                Severity.ERROR, "dicom-unreadable", f"{_rel(root, s.path)}: {s.reason}", str(s.path)
            )
        )
    for s in non_dicom[:_LISTED]:
        findings.append(
            Finding(
                Severity.INFO,
                _NOT_DICOM,
                f"{_rel(root, s.path)} is not DICOM ({s.reason}); ignored",
                str(s.path),
            )
        )
    if len(non_dicom) > _LISTED:
        findings.append(
            Finding(
                Severity.INFO,
                _NOT_DICOM,
                f"{len(non_dicom) - _LISTED} more files are not DICOM; ignored",
                None,
            )
        )
    ignored: dict[str, int] = {}
    for f in files:
        if not f.kind.is_rt:
            name = "CT image" if f.kind == FileKind.CT else sop_class_name(f.sop_class_uid)
            ignored[name] = ignored.get(name, 0) + 1
    for name, n in sorted(ignored.items()):
        findings.append(
            Finding(
                Severity.INFO,
                "dicom-not-used",
                f"{n} {name} file{'s' if n != 1 else ''} not used for the dose (plancheck reads RT "
                "Structure Sets, RT (Ion) Plans and RT Doses; Spatial Registrations and treatment "
                "records only to relate a course to its prior courses, with --prior)",
                None,
            )
        )


def _note_patients(files: list[IndexedFile], findings: list[Finding]) -> None:
    ids: dict[str, list[str]] = {}
    for f in files:
        if f.kind.is_rt:
            ids.setdefault(f.patient.patient_id, []).append(f.path.name)
    if len(ids) > 1:
        parts = "; ".join(
            f"{pid or '(empty)'!s}: {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}"
            for pid, names in sorted(ids.items())
        )
        findings.append(
            Finding(
                Severity.WARNING,
                "mixed-patients",
                f"the RT files belong to {len(ids)} different PatientIDs ({parts}); check that they "
                "are the same patient",
                None,
            )
        )


def _rel(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
