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


# ----------------------------------------------------------------------------- layout harness

# Runs in the page after it loaded: measures every piece of text, checks that no two overlap and
# that none spills out of its table cell, then moves the pointer over the DVH figure (at a given
# dose on a given panel) and reads what the page's own readout shows. Results go into the DOM.
HARNESS = r"""
window.addEventListener("load", function () {
  var result = {overlaps: [], overflows: [], texts: 0, readout: null, errors: []};
  try {
    var skip = {SCRIPT: 1, STYLE: 1, HEAD: 1, TITLE: 1};
    var items = [];
    var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    var node;
    while ((node = walker.nextNode())) {
      if (!node.textContent.trim()) { continue; }
      var el = node.parentElement;
      if (!el || skip[el.tagName] || el.closest("#dvh-readout, #harness-result")) { continue; }
      var style = getComputedStyle(el);
      if (style.visibility === "hidden" || style.display === "none") { continue; }
      var range = document.createRange();
      range.selectNodeContents(node);
      var rects = Array.prototype.slice.call(range.getClientRects()).filter(function (r) { return r.width > 0.5 && r.height > 0.5; });
      var cell = el.closest("td, th");
      rects.forEach(function (r) {
        items.push({r: r, el: el, text: node.textContent.trim().slice(0, 40)});
        if (cell) {
          var c = cell.getBoundingClientRect();
          if (r.left < c.left - 1 || r.right > c.right + 1 || r.top < c.top - 1 || r.bottom > c.bottom + 1) {
            result.overflows.push({text: node.textContent.trim().slice(0, 40), cell: cell.tagName});
          }
        }
      });
    }
    result.texts = items.length;
    items.sort(function (a, b) { return a.r.top - b.r.top; });
    for (var i = 0; i < items.length; i++) {
      for (var j = i + 1; j < items.length; j++) {
        var a = items[i].r, b = items[j].r;
        if (b.top >= a.bottom - 1) { break; }
        if (items[i].el === items[j].el) { continue; }
        var w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        var h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 1 && h > 1) {
          result.overlaps.push([items[i].text, items[j].text]);
        }
      }
    }
    var probe = window.HARNESS_PROBE;
    var img = document.getElementById("dvh-plot");
    var block = document.getElementById("dvh-data");
    if (probe && img && block) {
      var data = JSON.parse(block.textContent);
      var panel = data.panels.filter(function (p) { return p.panel === probe.panel; })[0];
      var box = img.getBoundingClientRect();
      var fx = panel.box[0] + (probe.dose - panel.limits[0]) / (panel.limits[1] - panel.limits[0]) * (panel.box[2] - panel.box[0]);
      var fy = (panel.box[1] + panel.box[3]) / 2;
      var x = box.left + fx * box.width, y = box.top + (1 - fy) * box.height;
      img.dispatchEvent(new MouseEvent("mousemove", {clientX: x, clientY: y, bubbles: true}));
      var out = document.getElementById("dvh-readout");
      var rows = Array.prototype.slice.call(out.querySelectorAll("tr")).slice(1).map(function (tr) {
        return Array.prototype.map.call(tr.children, function (td) { return td.textContent; });
      });
      result.readout = {dose: out.getAttribute("data-dose"), panel: out.getAttribute("data-panel"), rows: rows,
                        head: out.firstChild ? out.firstChild.textContent : ""};
    }
  } catch (e) {
    result.errors.push(String(e));
  }
  var pre = document.createElement("pre");
  pre.id = "harness-result";
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
});
"""


def _script_hash(script: str) -> str:
    import base64
    import hashlib

    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def instrument(html: str, *, probe: dict[str, object] | None = None, print_media: bool = False) -> str:
    """A copy of a report page with the harness added (allowed by the page's CSP, by hash).

    ``print_media`` makes the print style sheet apply on screen (Chromium's headless mode
    has no switch to emulate print media), for the layout as it is printed.
    """
    import json
    import re

    setup = "window.HARNESS_PROBE = " + json.dumps(probe) + ";"
    scripts = f"<script>{setup}</script><script>{HARNESS}</script>"
    extra = f" {_script_hash(setup)} {_script_hash(HARNESS)}"
    html, n = re.subn(r"(script-src [^\"]*?)(\")", lambda m: m.group(1) + extra + m.group(2), html, count=1)
    if n == 0:
        html = html.replace("default-src 'none';", f"default-src 'none'; script-src{extra};", 1)
    if print_media:
        html = html.replace("@media print {", "@media all {")
    return html.replace("</body>", scripts + "</body>", 1)


def harness_result(dom: str) -> dict[str, object]:
    import html as html_lib
    import json
    import re

    match = re.search(r'<pre id="harness-result">(.*?)</pre>', dom, flags=re.S)
    assert match is not None, "the harness did not run"
    result: dict[str, object] = json.loads(html_lib.unescape(match.group(1)))
    return result


def load_with_harness(page: Path, *, width: int, height: int) -> PageRun:
    """The DOM after load at a given window size (the harness measures at that size)."""
    done = _run([f"--window-size={width},{height}", "--dump-dom", page.resolve().as_uri()])
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return PageRun(done.stdout, console)
