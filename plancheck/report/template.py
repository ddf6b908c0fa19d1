"""The Jinja template, style sheet and pointer-readout script of the HTML plan report.

Kept as Python strings (not package data files) so the report works from any
installation. The template is rendered with autoescaping on: every value is
HTML-escaped unless marked safe, and nothing from a DICOM file is ever marked
safe. The page loads nothing: a Content-Security-Policy allows only the inline
styles, ``data:`` images and the one inline script it carries (by its
SHA-256), which shows the DVH values under the pointer and reads its data
from a ``application/json`` block (data, never run).

Print (and the PDF, laid out by WeasyPrint from this page): A4 landscape,
page numbers and the patient ID (or pseudonym) and plans on every page, table
headers repeated on each page, headings kept with what follows them, a
static DVH figure and a sign-off block.
"""

from __future__ import annotations

import base64
import hashlib

__all__ = ["READOUT_SCRIPT", "READOUT_SCRIPT_HASH", "REPORT_TEMPLATE", "STYLES"]

STYLES = """
:root { --pass: #1a7f37; --warn: #9a4d00; --fail: #cf222e; --ne: #57606a;
        --pass-bg: #dafbe1; --warn-bg: #fff1d6; --fail-bg: #ffebe9; --ne-bg: #eaeef2; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 13px;
       color: #1f2328; margin: 24px auto; max-width: 1180px; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 22px; margin: 0 0 4px 0; }
h2 { font-size: 17px; border-bottom: 2px solid #d0d7de; padding-bottom: 3px; margin-top: 28px; }
h3 { font-size: 14px; margin: 16px 0 6px 0; }
h2, h3 { break-after: avoid; page-break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; overflow-wrap: normal; word-break: normal; hyphens: none; }
td { overflow-wrap: break-word; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.nowrap { white-space: nowrap; }
.uid, .hash, code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 11px; }
.uid, .hash { word-break: break-all; }
td code { overflow-wrap: anywhere; }
td code.metric { overflow-wrap: normal; word-break: normal; }
table.kv th { width: 220px; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
.status { font-weight: 700; }
.status-pass { color: var(--pass); background: var(--pass-bg); }
.status-warn { color: var(--warn); background: var(--warn-bg); }
.status-fail { color: var(--fail); background: var(--fail-bg); }
.status-not-evaluated, .status-unknown, .status-reported, .status-incomplete { color: var(--ne); background: var(--ne-bg); }
.severity-error { color: var(--fail); background: var(--fail-bg); font-weight: 700; }
.severity-warning { color: var(--warn); background: var(--warn-bg); font-weight: 700; }
.severity-info { color: var(--ne); background: var(--ne-bg); }
.outcome { display: inline-block; padding: 6px 14px; border-radius: 6px; font-size: 16px;
           font-weight: 700; border: 2px solid currentColor; margin: 8px 0; }
.counts { font-size: 14px; margin-left: 10px; }
.subtitle { color: #57606a; }
.badge { display: inline-block; padding: 2px 8px; border-radius: 10px; background: #ddf4ff;
         color: #0969da; font-weight: 600; font-size: 12px; margin-left: 8px; }
#attention { border: 2px solid #d0d7de; border-radius: 6px; padding: 4px 12px 8px 12px; margin: 8px 0; }
#attention h2 { margin-top: 6px; border: none; font-size: 15px; }
#attention.has-failures { border-color: var(--fail); }
.warnings li { color: var(--warn); }
figure { margin: 8px 0; position: relative; }
figure img { width: 100%; height: auto; border: 1px solid #d0d7de; display: block; }
figcaption { color: #57606a; font-size: 12px; margin-top: 4px; }
#dvh-readout { min-height: 3.2em; margin: 6px 0; padding: 6px 8px; border: 1px solid #d0d7de;
               border-radius: 4px; background: #f6f8fa; font-size: 12px; }
#dvh-readout table { margin: 4px 0 0 0; width: auto; }
#dvh-readout td, #dvh-readout th { padding: 1px 6px; }
#dvh-readout .nearest { font-weight: 700; }
#dvh-crosshair { position: absolute; width: 0; border-left: 1px dashed #1f2328; pointer-events: none; display: none; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
.reason { color: #57606a; }
#references ol { padding-left: 1.6em; }
#references li { margin-bottom: 4px; }
#signoff table td { height: 34px; }
#signoff .box { display: inline-block; width: 12px; height: 12px; border: 1.5px solid #1f2328; margin: 0 6px 0 14px; vertical-align: -2px; }
#signoff .comments { height: 90px; }
footer { margin-top: 32px; color: #57606a; font-size: 11px; border-top: 1px solid #d0d7de;
         padding-top: 6px; }
#running-head { string-set: runninghead content(); }
@page { size: A4 landscape; margin: 16mm 12mm 14mm 12mm;
        @top-left { content: string(runninghead); font-size: 8pt; color: #57606a; }
        @top-right { content: "plancheck plan evaluation"; font-size: 8pt; color: #57606a; }
        @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 8pt; color: #57606a; } }
@media print {
  body { margin: 0; max-width: none; font-size: 10px; padding: 0; }
  .uid, .hash, code { font-size: 8.5px; }
  figure img { break-inside: avoid; page-break-inside: avoid; }
  figure img { width: auto; max-width: 100%; max-height: 150mm; margin: 0 auto; }
  #dvh-readout, #dvh-crosshair { display: none !important; }
  #signoff { break-inside: avoid; }
}
"""

# The readout: the dose under the pointer on a DVH panel, and the volume every curve of that
# panel receives there (and which curve is nearest). Data come from #dvh-data; no network.
READOUT_SCRIPT = """
(function () {
  "use strict";
  var img = document.getElementById("dvh-plot");
  var out = document.getElementById("dvh-readout");
  var line = document.getElementById("dvh-crosshair");
  var block = document.getElementById("dvh-data");
  if (!img || !out || !block) { return; }
  var data = JSON.parse(block.textContent);
  function at(xs, ys, x) {
    if (x <= xs[0]) { return ys[0]; }
    var n = xs.length;
    if (x >= xs[n - 1]) { return 0; }
    var lo = 0, hi = n - 1;
    while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (xs[mid] <= x) { lo = mid; } else { hi = mid; } }
    var t = (x - xs[lo]) / (xs[hi] - xs[lo]);
    return ys[lo] + t * (ys[hi] - ys[lo]);
  }
  function cell(row, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) { td.className = cls; }
    row.appendChild(td);
    return td;
  }
  function show(ev) {
    var r = img.getBoundingClientRect();
    var fx = (ev.clientX - r.left) / r.width, fy = 1 - (ev.clientY - r.top) / r.height;
    var panel = null;
    data.panels.forEach(function (p) {
      if (fx >= p.box[0] && fx <= p.box[2] && fy >= p.box[1] && fy <= p.box[3]) { panel = p; }
    });
    if (!panel) { hide(); return; }
    var dose = panel.limits[0] + (fx - panel.box[0]) / (panel.box[2] - panel.box[0]) * (panel.limits[1] - panel.limits[0]);
    var vol = panel.limits[2] + (fy - panel.box[1]) / (panel.box[3] - panel.box[1]) * (panel.limits[3] - panel.limits[2]);
    var rows = panel.curves.map(function (c) {
      var pct = at(c.dose, c.volume_pct, dose);
      return { c: c, pct: pct, cc: pct / 100 * c.volume_cc, gap: Math.abs(pct - vol) };
    });
    var nearest = rows.reduce(function (a, b) { return b.gap < a.gap ? b : a; });
    out.textContent = "";
    var head = document.createElement("div");
    head.textContent = panel.axis.split(",")[0] + ": " + dose.toFixed(2) + " " + data.dose_unit +
      " (nearest curve: " + nearest.c.structure + ", " + nearest.c.quantity + ")";
    out.appendChild(head);
    var table = document.createElement("table");
    var hr = document.createElement("tr");
    ["Structure", "Curve", "Volume [%]", "Volume [cc]"].forEach(function (h) {
      var th = document.createElement("th"); th.textContent = h; hr.appendChild(th);
    });
    table.appendChild(hr);
    rows.forEach(function (x) {
      var tr = document.createElement("tr");
      if (x === nearest) { tr.className = "nearest"; }
      var name = cell(tr, x.c.structure);
      var sw = document.createElement("span"); sw.className = "swatch"; sw.style.background = x.c.colour;
      name.insertBefore(sw, name.firstChild);
      cell(tr, x.c.quantity);
      cell(tr, x.pct.toFixed(2), "num");
      cell(tr, x.cc.toFixed(3), "num");
      table.appendChild(tr);
    });
    out.appendChild(table);
    out.setAttribute("data-dose", dose.toFixed(4));
    out.setAttribute("data-panel", panel.panel);
    if (line) {
      line.style.display = "block";
      line.style.left = (ev.clientX - r.left) + "px";
      line.style.top = ((1 - panel.box[3]) * r.height) + "px";
      line.style.height = ((panel.box[3] - panel.box[1]) * r.height) + "px";
    }
  }
  function hide() { if (line) { line.style.display = "none"; } }
  img.addEventListener("mousemove", show);
  img.addEventListener("mouseleave", hide);
  out.textContent = "Move the pointer over a DVH panel to read the dose there and every curve's volume.";
})();
"""
READOUT_SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(READOUT_SCRIPT.encode("utf-8")).digest()).decode("ascii")

REPORT_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src '{{ script_hash }}'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="plancheck {{ v.plancheck_version }}">
<title>{{ v.title }}</title>
<style>{{ styles }}</style>
</head>
<body>
<header>
<h1 id="title">{{ v.title }}</h1>
<div class="subtitle">Patient {{ v.patient.name }} · <span id="running-head">Patient ID {{ v.patient.id }} · plans {{ v.plan_labels }}</span> · protocol {{ v.protocol.name }}
{%- if v.anonymized %}<span class="badge" id="anonymized">anonymised</span>{% endif %}</div>
<div id="outcome">
<span class="outcome status-{{ v.outcome }}">{{ v.outcome_symbol }} {{ v.outcome_label }}</span>
<span class="counts">{% for label, n in v.counts %}{{ label }}: <b>{{ n }}</b>{% if not loop.last %} · {% endif %}{% endfor %}</span>
</div>
{% if v.verdict_label and v.verdict_label != v.outcome_label %}<p id="verdict-label">Verdict: <b>{{ v.verdict_label }}</b></p>{% endif %}
{% if v.verdict_reasons %}<ul id="verdict-reasons">{% for kind, text in v.verdict_reasons %}<li><b>{{ kind }}:</b> {{ text }}</li>{% endfor %}</ul>{% endif %}
{% if v.warnings %}<ul class="warnings" id="verdict-warnings">{% for w in v.warnings %}<li>{{ w }}</li>{% endfor %}</ul>{% endif %}
{% if v.absent_optional %}<p id="absent-optional">Optional organs not in the structure set (not graded): {{ v.absent_optional | join(", ") }}</p>{% endif %}
</header>

<section id="attention"{% if v.failed %} class="has-failures"{% endif %}>
<h2>Summary</h2>
{% if v.missing_structures %}<p id="missing">Structures missing from the structure set: {{ v.missing_structures | join(", ") }}</p>{% endif %}
{% if v.attention %}<table id="attention-table">
<thead><tr><th>Status</th><th>#</th><th>Structure</th><th>Metric</th><th>Value</th><th>Goal</th><th>Why</th></tr></thead>
<tbody>
{% for c in v.attention %}<tr data-status="{{ c.status_class }}"><td class="status status-{{ c.status_class }}">{{ c.symbol }} {{ c.status_label }}</td><td>{{ c.id }}</td><td>{{ c.structure }}</td><td><code class="metric">{{ c.metric }}</code></td><td class="num">{{ c.value }}{% if c.unit %} {{ c.unit }}{% endif %}</td><td class="num nowrap">{{ c.goal }}</td><td>{{ c.reason }}</td></tr>
{% endfor %}</tbody></table>
{% else %}<p id="all-passed">Every constraint was evaluated; none failed or warned.</p>{% endif %}
</section>

<section id="identification">
<h2>Patient and plan</h2>
<table class="kv">
<tbody>
<tr><th>Patient name</th><td>{{ v.patient.name }}</td></tr>
<tr><th>Patient ID</th><td>{{ v.patient.id }}</td></tr>
<tr><th>Birth date</th><td>{{ v.patient.birth_date }}</td></tr>
<tr><th>Structure set</th><td>{{ v.structure_set.label }} ({{ v.structure_set.date }}) <span class="uid">{{ v.structure_set.sop_instance_uid }}</span></td></tr>
<tr><th>Frame of reference</th><td class="uid">{{ v.structure_set.frame_of_reference_uid }}</td></tr>
<tr><th>Plans evaluated</th><td>{{ v.plan_labels }}</td></tr>
<tr><th>Dose unit</th><td id="dose-unit">{{ v.dose_unit }}{% if v.rbe %} (EFFECTIVE dose: RBE-weighted){% endif %}</td></tr>
</tbody>
</table>
</section>

<section id="approval">
<h2>Planning system and approval</h2>
<table id="approval-table">
<thead><tr><th>Plan</th><th>Planning system</th><th>Software version</th><th>Plan date</th><th>Approval</th><th>Approved on</th><th>Approved by</th><th>Dose type</th></tr></thead>
<tbody>
{% for p in v.plans %}<tr><td>{{ p.label }}</td><td>{{ p.system }}</td><td>{{ p.version }}</td><td>{{ p.plan_date }}</td><td>{{ p.approval_status }}</td><td>{{ p.review_date }}</td><td>{{ p.reviewer }}</td><td>{{ p.dose_type }}</td></tr>
{% else %}<tr><td colspan="8">No plan in the document.</td></tr>
{% endfor %}</tbody>
</table>
{% if v.structure_set.system != "—" %}<p>Structure set written by {{ v.structure_set.system }}.</p>{% endif %}
</section>

<section id="course">
<h2>Course</h2>
<table id="plans">
<thead><tr><th>Plan</th><th>Fractions</th><th>Prescription [{{ v.dose_unit }}]</th><th>Dose from</th><th>SOP Instance UID</th><th>RTDOSE SOP Instance UIDs</th></tr></thead>
<tbody>
{% for p in v.plans %}<tr><td>{{ p.label }}</td><td class="num">{{ p.n_fractions }}</td><td class="num">{{ p.prescription_gy }}</td><td>{{ p.dose_from }}</td><td class="uid">{{ p.sop_instance_uid }}</td><td class="uid">{% for u in p.rtdose_uids %}{{ u }}{% if not loop.last %}<br>{% endif %}{% endfor %}</td></tr>
{% else %}<tr><td colspan="6">No plan in the document.</td></tr>
{% endfor %}</tbody></table>
{% if v.dose_levels %}
<h3>Dose levels</h3>
<table id="dose-levels">
<thead><tr><th>Level</th><th>Structure</th><th>Dose [{{ v.dose_unit }}]</th><th>Fractions</th><th>Plans</th>{% if v.dose_levels_checked %}<th>Check</th><th>Message</th>{% endif %}</tr></thead>
<tbody>
{% for d in v.dose_levels %}<tr><td>{{ d.id }}</td><td>{{ d.structure }}</td><td class="num">{{ d.dose_gy }}</td><td class="num">{{ d.fractions }}</td><td>{{ d.plans }}</td>{% if v.dose_levels_checked %}<td class="status status-{{ d.status_class }}">{{ d.status }}</td><td>{{ d.message }}</td>{% endif %}</tr>
{% endfor %}</tbody></table>
{% endif %}
<h3>Protocol</h3>
<table class="kv" id="protocol">
<tbody>
<tr><th>Name</th><td>{{ v.protocol.name }}</td></tr>
<tr><th>Title</th><td>{{ v.protocol.title }}</td></tr>
<tr><th>Description</th><td>{{ v.protocol.description }}</td></tr>
<tr><th>Selection</th><td>{{ v.protocol.selected }}{% if v.protocol.reason %} — {{ v.protocol.reason }}{% endif %}</td></tr>
<tr><th>Source</th><td><code>{{ v.protocol.file }}</code></td></tr>
<tr><th>SHA-256</th><td class="hash">{{ v.protocol.sha256 }}</td></tr>
</tbody>
</table>
</section>

<section id="constraints">
<h2>Constraints</h2>
<table id="constraint-table">
<thead><tr><th style="width:9%">Status</th><th style="width:3%">#</th><th style="width:9%">Structure</th><th style="width:12%">ROI used</th><th style="width:12%">Metric</th><th style="width:8%">Value</th><th style="width:5%">Goal</th><th style="width:6%">Acceptable</th><th style="width:5%">Priority</th><th style="width:31%">Reason / source</th></tr></thead>
<tbody>
{% for c in v.constraints %}<tr class="constraint row-{{ c.status_class }}" data-status="{{ c.status_class }}" id="constraint-{{ c.anchor }}">
<td class="status status-{{ c.status_class }}">{{ c.symbol }} {{ c.status_label }}</td>
<td>{{ c.id }}</td><td>{{ c.structure }}</td>
<td>{{ c.matched_roi }}{% if c.match %} <span class="reason">({{ c.match }})</span>{% endif %}</td>
<td><code class="metric">{{ c.metric }}</code></td><td class="num">{{ c.value }}{% if c.unit %} {{ c.unit }}{% endif %}</td>
<td class="num nowrap">{{ c.goal }}</td><td class="num nowrap">{{ c.variation }}</td><td class="num">{{ c.priority }}</td>
<td>{% if c.reason %}<span class="reason">{{ c.reason }}</span>{% if c.source_parts %}<br>{% endif %}{% endif %}{% for text, key in c.source_parts %}{% if key %}<a href="#ref-{{ key }}">{{ text }}</a>{% else %}{{ text }}{% endif %}{% endfor %}</td></tr>
{% else %}<tr><td colspan="10">The protocol has no constraint.</td></tr>
{% endfor %}</tbody></table>
</section>

<section id="dvh">
<h2>Dose-volume histograms</h2>
{% if v.figure %}<figure id="dvh-figure">
<img id="dvh-plot" src="{{ v.figure.data_uri }}" alt="Cumulative DVHs of the evaluated structures, one panel per dose quantity, with the constraints drawn as markers">
<div id="dvh-crosshair"></div>
<figcaption>Cumulative DVHs as stored in the evaluation document, one panel per dose quantity (physical dose; EQD2 and BED each on their own labelled axis).
Markers: each evaluated constraint at the dose it reads, on the curve of its structure — ✖ fail (large, labelled), ▲ warn, ● pass, ◆ reported.
{% if v.figure.not_drawn %}Not drawn: {% for cid, why in v.figure.not_drawn %}{{ cid }} ({{ why }}){% if not loop.last %}; {% endif %}{% endfor %}.{% endif %}</figcaption>
</figure>
<div id="dvh-readout" aria-live="polite"></div>
<script type="application/json" id="dvh-data">{{ v.readout_json }}</script>
<script>{{ script }}</script>
{% else %}<p id="dvh-missing">The evaluation document stores no DVH curve; re-run the evaluation with curves to draw them.</p>{% endif %}
{% if v.structures %}<table id="structures">
<thead><tr><th>Structure</th><th>ROI</th><th>Protocol structure</th><th>Volume [cc]</th><th>Outside dose grid [cc]</th></tr></thead>
<tbody>
{% for s in v.structures %}<tr><td>{{ s.name }}</td><td>{{ s.roi }}</td><td>{{ s.protocol_structure }}</td><td class="num">{{ s.volume_cc }}</td><td class="num">{{ s.outside_cc }}</td></tr>
{% endfor %}</tbody></table>{% endif %}
</section>

{% if v.reirradiation %}<section id="reirradiation">
<h2>Re-irradiation: prior courses</h2>
{% for p in v.reirradiation.priors %}<table class="kv">
<tbody>
<tr><th>Prior course {{ p.number }}</th><td>{{ p.plans }} — <code>{{ p.directory }}</code></td></tr>
<tr><th>Frames of reference</th><td>current <code>{{ p.current_frame }}</code> → prior <code>{{ p.prior_frame }}</code></td></tr>
<tr><th>Registration</th><td>{{ p.kind }}, from <code>{{ p.source }}</code></td></tr>
<tr><th>Matrix (current → prior, mm)</th><td><pre>{% for row in p.matrix %}{{ row }}
{% endfor %}</pre></td></tr>
<tr><th>How</th><td>{{ p.note }}</td></tr>
</tbody></table>
{% endfor %}<table class="kv"><tbody>
<tr><th>Interval</th><td>{{ v.reirradiation.interval }}</td></tr>
<tr><th>Recovery</th><td>{{ v.reirradiation.recovery }}</td></tr>
</tbody></table>
{% if v.reirradiation.figure %}<figure id="reirradiation-figure">
<img src="{{ v.reirradiation.figure }}" alt="Prior, current and cumulative EQD2 DVHs of the spinal cord, cauda equina and thecal sac">
<figcaption>Prior (dotted), current (dashed) and cumulative (solid) DVHs on the current anatomy; the prior course mapped through the registration above.</figcaption>
</figure>{% endif %}
</section>
{% endif %}

<section id="findings">
<h2>Data quality</h2>
{% if v.findings %}<table id="findings-table">
<thead><tr><th>Severity</th><th>Finding</th><th>Message</th><th>File</th></tr></thead>
<tbody>
{% for f in v.findings %}<tr><td class="severity-{{ f.severity_class }}">{{ f.severity }}</td><td><code>{{ f.code }}</code></td><td>{{ f.message }}</td><td><code>{{ f.path }}</code></td></tr>
{% endfor %}</tbody></table>
{% else %}<p>No data-quality finding.</p>{% endif %}
</section>

{% for block in v.extra_tables %}
<section id="{{ block.id }}">
<h2>{{ block.title }}</h2>
<table>
<thead><tr>{% for h in block.columns %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in block.rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
</section>
{% endfor %}

{% if v.references %}<section id="references">
<h2>References</h2>
<ol>
{% for r in v.references %}<li id="ref-{{ r.anchor }}"><b>{{ r.key }}</b>: {{ r.citation }}</li>
{% endfor %}</ol>
</section>{% endif %}

<section id="provenance">
<h2>Provenance</h2>
<table class="kv">
<tbody>
<tr><th>plancheck version</th><td>{{ v.plancheck_version }}</td></tr>
<tr><th>Python</th><td>{{ v.python }}</td></tr>
<tr><th>Evaluated</th><td>{{ v.created }}</td></tr>
<tr><th>Plan folder</th><td><code>{{ v.protocol.source_folder }}</code></td></tr>
<tr><th>Protocol file</th><td><code>{{ v.protocol.file }}</code></td></tr>
<tr><th>Protocol SHA-256</th><td class="hash">{{ v.protocol.sha256 }}</td></tr>
{% for key, value in v.settings %}<tr><th>Setting: {{ key }}</th><td><code>{{ value }}</code></td></tr>
{% endfor %}{% if v.anonymized %}<tr><th>Anonymisation</th><td>{{ v.anonymized }}</td></tr>{% endif %}
</tbody>
</table>
<h3>Input files</h3>
<table id="input-files">
<thead><tr><th>File</th><th>Kind</th><th>Plan</th><th>SOP Instance UID</th><th>SHA-256</th></tr></thead>
<tbody>
{% for f in v.input_files %}<tr><td><code>{{ f.path }}</code></td><td>{{ f.modality }}</td><td>{{ f.used_by }}</td><td class="uid">{{ f.sop_instance_uid }}</td><td class="hash">{{ f.sha256 }}</td></tr>
{% else %}<tr><td colspan="5">Not recorded.</td></tr>
{% endfor %}</tbody></table>
</section>

<section id="signoff">
<h2>Review and sign-off</h2>
<table class="kv">
<tbody>
<tr><th>Reviewer</th><td></td></tr>
<tr><th>Date</th><td></td></tr>
<tr><th>Decision</th><td><span class="box"></span>Accepted<span class="box"></span>Accepted with changes<span class="box"></span>Not accepted</td></tr>
<tr><th>Comments</th><td class="comments"></td></tr>
<tr><th>Signature</th><td></td></tr>
</tbody>
</table>
</section>

<footer>Made by plancheck {{ v.renderer_version }} from evaluation document schema {{ v.schema_version }}. Every number on this page is the one in the document; none was recomputed.</footer>
</body>
</html>
"""
