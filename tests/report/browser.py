"""Headless Chromium for report tests: screenshots and the DOM after the page ran."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)


def chromium_binary() -> str:
    """The browser to test with ($PLANCHECK_CHROMIUM, else chromium on PATH); skips the test if none."""
    found = os.environ.get("PLANCHECK_CHROMIUM") or next(
        (p for p in map(shutil.which, _CANDIDATES) if p), None
    )
    if not found:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install -y chromium)")
    return found


def artifacts_dir() -> Path:
    """Where screenshots are kept: $PLANCHECK_ARTIFACTS, else test-artifacts/ in the repository."""
    path = Path(os.environ.get("PLANCHECK_ARTIFACTS") or REPO_ROOT / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class PageRun:
    dom: str
    console: list[str]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="plancheck-chromium-") as profile:
        return subprocess.run(
            [chromium_binary(), *_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def load_page(page: Path) -> PageRun:
    """The serialised DOM after the page loaded, and the console messages it logged."""
    done = _run(["--dump-dom", page.resolve().as_uri()])
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return PageRun(done.stdout, console)


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2400) -> Path:
    done = _run([f"--screenshot={png}", f"--window-size={width},{height}", page.resolve().as_uri()])
    assert done.returncode == 0 and png.is_file(), done.stderr[-2000:]
    return png
