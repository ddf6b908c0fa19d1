"""Finding the courses under a batch root by their UIDs and references, not by their folders.

Every file under the root is examined (DICOM files by a few header attributes,
see :mod:`plancheck.dicom.references`), and the RT objects are joined into
courses the way they reference each other:

* an RTDOSE joins the plan it references (ReferencedRTPlanSequence), a plan or
  dose the structure set it references (ReferencedStructureSetSequence);
* a dose that names no plan found under the root joins the one plan of its
  patient in its frame of reference, and a plan that names no structure set
  found joins the one structure set of its patient in its frame of reference
  (two candidates: neither is joined, nothing is guessed);
* where an object has copies (the same SOP Instance UID in several files), a
  reference joins the nearest copy in the folder tree: two folders holding
  copies of one course are two courses, and a copy of a dose dropped at the
  root joins the course it was copied from.

Each group holding a plan or a dose is one course to evaluate, wherever its
files lie: a folder holding files of several courses yields several courses,
and a DICOM file copied to the root joins the course it belongs to (or is a
stray) instead of swallowing every folder below it. Images and other DICOM
objects join the courses of their frame of reference. Files that belong to no
course are listed as *stray* (a structure set nothing references, images of
another frame of reference); folders without any DICOM file as *skipped*.
DICOM files whose header cannot be read join the courses of their folder, or
form a course of their own, so that the evaluation reports them.

Links: a symbolic link (to a file or a folder) is followed when it leads to a
place inside the root, and its target's content is what is hashed and
evaluated; a link leading outside the root is not followed and is listed.
Every folder and file is examined once, whatever the number of links to it
(no loops). The batch's output folder is never searched. Nothing is opened
for writing, and pixel data is never read.

A course's *key* is the folder holding its plans and structure set, relative
to the root (``"."`` for the root); when one folder holds several courses,
``#`` and their plan labels are added.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from plancheck.dicom.kinds import FileKind
from plancheck.dicom.references import FileReferences, read_references
from plancheck.errors import DicomReadError

__all__ = ["Discovery", "PlanFolder", "SkippedFolder", "discover_plans", "is_dicom_file"]

_PREAMBLE = 128
# little-endian (group, element) starts of DICOM data sets written without a preamble
_RAW_STARTS = (b"\x02\x00\x00\x00", b"\x02\x00\x01\x00", b"\x08\x00\x05\x00", b"\x08\x00\x08\x00", b"\x08\x00\x16\x00")
MAX_DEPTH = 64


@dataclass(frozen=True)
class PlanFolder:
    """One course to evaluate.

    ``key`` names it (its folder relative to the root, see module docstring);
    ``path`` is that folder; ``files`` are every file of the course, as POSIX
    paths relative to the *root*, sorted; ``labels`` the labels of its plans;
    ``identifying`` the identifying header values of its files, as
    (keyword, VR, value), for anonymised messages.
    """

    key: str
    path: Path
    files: tuple[str, ...]
    labels: tuple[str, ...] = ()
    identifying: tuple[tuple[str, str, str], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class SkippedFolder:
    """Something under the root that is not a course: ``key`` names it, ``reason`` says why."""

    key: str
    reason: str


@dataclass(frozen=True)
class Discovery:
    plans: tuple[PlanFolder, ...]
    skipped: tuple[SkippedFolder, ...]


def is_dicom_file(path: Path) -> bool:
    """True when the file starts like a DICOM file (reads at most 132 bytes)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_PREAMBLE + 4)
    except OSError:
        return False
    if len(head) >= _PREAMBLE + 4 and head[_PREAMBLE:] == b"DICM":
        return True
    return head[:4] in _RAW_STARTS


def _key(root: Path, folder: Path) -> str:
    rel = folder.relative_to(root)
    return "." if rel == Path(".") else PurePosixPath(*rel.parts).as_posix()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


# --------------------------------------------------------------------------- walking


@dataclass
class _Walk:
    files: dict[Path, list[str]] = field(default_factory=dict)  # folder (as walked) -> file names
    skipped: list[SkippedFolder] = field(default_factory=list)


def _walk(root: Path, excluded: list[Path]) -> _Walk:
    """Every regular file under ``root``, by folder, following links that stay inside ``root``.

    Folders and files are reached by their own path first; links are followed
    afterwards, so a link adds only what cannot be reached without it.
    """
    out = _Walk()
    seen: set[Path] = {root}
    seen_files: set[Path] = set()
    stack: list[tuple[Path, int]] = [(root, 0)]
    links: list[tuple[Path, int]] = []
    while stack or links:
        if not stack:
            link, depth = links.pop(0)
            real = Path(os.path.realpath(link))
            if os.path.isdir(link):
                if real not in seen:
                    seen.add(real)
                    stack.append((link, depth))
            elif real not in seen_files:
                seen_files.add(real)
                out.files.setdefault(link.parent, []).append(link.name)
            continue
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            out.skipped.append(SkippedFolder(_key(root, folder), f"cannot be read: {exc.strerror or exc}"))
            continue
        names: list[str] = []
        below: list[tuple[Path, int]] = []
        for entry in entries:
            path = Path(entry.path)
            real = Path(os.path.realpath(path))
            if any(_inside(real, e) for e in excluded):
                continue
            try:
                st = os.stat(path)  # follows links
            except OSError:
                out.skipped.append(SkippedFolder(_key(root, path), "a symbolic link to nothing; not followed"))
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            if is_dir and depth + 1 > MAX_DEPTH:
                out.skipped.append(SkippedFolder(_key(root, path), f"nested more than {MAX_DEPTH} folders deep"))
                continue
            if entry.is_symlink():
                if not _inside(real, root):
                    out.skipped.append(
                        SkippedFolder(_key(root, path), "a symbolic link leading outside ROOT; not followed")
                    )
                elif is_dir or stat.S_ISREG(st.st_mode):
                    links.append((path, depth + 1))
                continue
            if is_dir:
                if real not in seen:
                    seen.add(real)
                    below.append((path, depth + 1))
            elif stat.S_ISREG(st.st_mode) and real not in seen_files:
                seen_files.add(real)
                names.append(entry.name)
        if names:
            out.files.setdefault(folder, []).extend(names)
        stack.extend(reversed(below))
    for names in out.files.values():
        names.sort()
    return out


# --------------------------------------------------------------------------- grouping


class _Groups:
    """Union-find over files."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, a: str) -> str:
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _distance(a: Path, b: Path) -> int:
    """How many folders apart two files are (0: the same folder)."""
    pa, pb = a.parent.parts, b.parent.parts
    common = 0
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            break
        common += 1
    return len(pa) + len(pb) - 2 * common


def _nearest(ref: FileReferences, candidates: list[FileReferences]) -> list[FileReferences]:
    """The candidates closest to ``ref`` in the folder tree (copies elsewhere are not joined)."""
    if not candidates:
        return []
    best = min(_distance(ref.path, c.path) for c in candidates)
    return [c for c in candidates if _distance(ref.path, c.path) == best]


def _only(candidates: Iterable[FileReferences], ref: FileReferences) -> list[FileReferences]:
    """The files of the one object of ``ref``'s patient and frame of reference, if there is one."""
    same: dict[str, list[FileReferences]] = defaultdict(list)
    for c in candidates:
        if (
            c.frame_of_reference_uid is not None
            and c.frame_of_reference_uid == ref.frame_of_reference_uid
            and c.patient_id == ref.patient_id
        ):
            same[c.sop_instance_uid].append(c)
    return _nearest(ref, next(iter(same.values()))) if len(same) == 1 else []


def _join_references(rt: list[FileReferences], groups: _Groups) -> None:
    """Join each file to the files it references (the nearest copy where an object has several)."""
    by_uid: dict[str, list[FileReferences]] = defaultdict(list)
    for r in rt:
        by_uid[r.sop_instance_uid].append(r)
    plans = [r for r in rt if r.kind.is_plan]
    structure_sets = [r for r in rt if r.kind == FileKind.RTSTRUCT]
    for copies in by_uid.values():  # copies of one object in one folder are one object
        for a in copies:
            for b in copies:
                if a.path.parent == b.path.parent:
                    groups.join(str(a.path), str(b.path))
    for r in rt:
        node = str(r.path)
        groups.find(node)
        plan_refs = [u for u in r.referenced_plan_uids if u in by_uid]
        ss_refs = [u for u in r.referenced_structure_set_uids if u in by_uid]
        for u in (*plan_refs, *ss_refs):
            for target in _nearest(r, by_uid[u]):
                groups.join(node, str(target.path))
        if r.kind == FileKind.RTDOSE and not plan_refs and not r.referenced_plan_uids:
            for target in _only(plans, r):
                groups.join(node, str(target.path))
        if r.kind.is_plan and not ss_refs:
            for target in _only(structure_sets, r):
                groups.join(node, str(target.path))


def _common_folder(paths: Iterable[Path]) -> Path:
    folders = [p.parent for p in paths]
    common = folders[0]
    for f in folders[1:]:
        while not _inside(f, common):
            common = common.parent
    return common


@dataclass
class _Course:
    members: list[FileReferences]
    extra: list[Path] = field(default_factory=list)  # images, other objects, unreadable files

    @property
    def anchor(self) -> Path:
        core = [m.path for m in self.members if m.kind.is_plan or m.kind == FileKind.RTSTRUCT]
        return _common_folder(core or [m.path for m in self.members] or self.extra)

    @property
    def frames(self) -> set[tuple[str, str]]:
        return {
            (m.frame_of_reference_uid, m.patient_id)
            for m in self.members
            if m.frame_of_reference_uid is not None
        }

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(sorted({m.label for m in self.members if m.kind.is_plan and m.label}))


def _stray_reason(kinds: dict[str, int]) -> str:
    parts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    return f"DICOM file(s) that belong to no course: {parts}"


def discover_plans(root: Path, *, exclude: Iterable[Path] = ()) -> Discovery:
    """The courses under ``root`` and what was skipped, both sorted by key.

    Parameters
    ----------
    root : Path
        The folder to search.
    exclude : paths
        Folders not to search (the batch's own output folder when it lies under ``root``).
    """
    root = Path(os.path.realpath(root))
    excluded = [Path(os.path.realpath(e)) for e in exclude]
    walk = _walk(root, excluded)
    skipped = list(walk.skipped)

    readable: list[FileReferences] = []
    unreadable: list[Path] = []
    non_dicom: dict[Path, int] = defaultdict(int)
    for folder, names in walk.files.items():
        for name in names:
            path = folder / name
            if not is_dicom_file(path):
                non_dicom[folder] += 1
                continue
            try:
                readable.append(read_references(path))
            except DicomReadError:
                unreadable.append(path)

    rt = [r for r in readable if r.kind.is_rt]
    groups = _Groups()
    _join_references(rt, groups)
    by_group: dict[str, list[FileReferences]] = defaultdict(list)
    for r in rt:
        by_group[groups.find(str(r.path))].append(r)
    courses = [
        _Course(members)
        for members in by_group.values()
        if any(m.kind.is_plan or m.kind == FileKind.RTDOSE for m in members)
    ]
    stray: dict[Path, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for members in by_group.values():
        if not any(m.kind.is_plan or m.kind == FileKind.RTDOSE for m in members):
            for m in members:
                stray[m.path.parent][f"{m.kind.label} (no plan or dose references it)"] += 1
    for r in readable:
        if r.kind.is_rt:
            continue
        mine = [c for c in courses if (r.frame_of_reference_uid, r.patient_id) in c.frames]
        if mine:  # the nearest courses only: a copy of a course elsewhere keeps its own images
            best = min(_distance(r.path, c.anchor / "x") for c in mine)
            mine = [c for c in mine if _distance(r.path, c.anchor / "x") == best]
        for c in mine:
            c.extra.append(r.path)
        if not mine:
            stray[r.path.parent][f"{r.kind.label} (no course in its frame of reference)"] += 1
    for path in unreadable:
        mine = [c for c in courses if c.anchor == path.parent]
        for c in mine:
            c.extra.append(path)
        if not mine:
            courses.append(_Course([], [path]))
    # unreadable files of one folder without a course form one course of that folder
    merged: dict[Path, _Course] = {}
    kept: list[_Course] = []
    for c in courses:
        if c.members:
            kept.append(c)
        else:
            folder = c.extra[0].parent
            if folder in merged:
                merged[folder].extra.extend(c.extra)
            else:
                merged[folder] = c
                kept.append(c)

    plans = _name_courses(root, kept)
    anchors = [p.path for p in plans]
    for folder, kinds in stray.items():
        skipped.append(SkippedFolder(f"{_key(root, folder)} (stray files)", _stray_reason(kinds)))
    for folder, n in non_dicom.items():
        if any(_inside(folder, a) or _inside(a, folder) for a in anchors) or folder in stray:
            continue  # inside or above a course: its loose files are not a plan of their own
        if any(p.parent == folder for p in unreadable):
            continue
        if any(r.path.parent == folder for r in readable):
            continue
        skipped.append(SkippedFolder(_key(root, folder), f"no DICOM file among its {n} file(s)"))
    return Discovery(tuple(plans), tuple(sorted(skipped, key=lambda s: s.key)))


def _name_courses(root: Path, courses: list[_Course]) -> list[PlanFolder]:
    by_key: dict[str, list[_Course]] = defaultdict(list)
    for c in courses:
        by_key[_key(root, c.anchor)].append(c)
    out: list[PlanFolder] = []
    for key, group in by_key.items():
        named: dict[str, _Course] = {}
        for c in group:
            name = key
            if len(group) > 1:
                name = f"{key}#{'+'.join(c.labels) or 'unlabelled'}"
                if name in named or sum(1 for g in group if g.labels == c.labels) > 1:
                    uids = "\n".join(sorted(m.sop_instance_uid for m in c.members) or [str(p) for p in c.extra])
                    name += "-" + hashlib.sha256(uids.encode()).hexdigest()[:8]
            named[name] = c
        for name, c in named.items():
            paths = {m.path for m in c.members} | set(c.extra)
            files = tuple(sorted(PurePosixPath(*p.relative_to(root).parts).as_posix() for p in paths))
            identifying = tuple(dict.fromkeys(item for m in c.members for item in m.identifying))
            out.append(PlanFolder(name, c.anchor, files, c.labels, identifying))
    return sorted(out, key=lambda p: p.key)
