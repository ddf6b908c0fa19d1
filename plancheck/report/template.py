"""The Jinja template and style sheet of the HTML plan report.

Kept as Python strings (not package data files) so the report works from any
installation. The template is rendered with autoescaping on: every value is
HTML-escaped unless marked safe, and nothing from a DICOM file is ever marked
safe. The page loads nothing: a Content-Security-Policy allows only the inline
styles and ``data:`` images it carries, and no script at all.
"""

from __future__ import annotations

__all__ = ["REPORT_TEMPLATE", "STYLES"]

STYLES = """
:root { --pass: #1a7f37; --warn: #9a4d00; --fail: #cf222e; --ne: #57606a;
        --pass-bg: #dafbe1; --warn-bg: #fff1d6; --fail-bg: #ffebe9; --ne-bg: #eaeef2; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 13px;
       color: #1f2328; margin: 24px auto; max-width: 1180px; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 22px; margin: 0 0 4px 0; }
h2 { font-size: 17px; border-bottom: 2px solid #d0d7de; padding-bottom: 3px; margin-top: 28px; }
h3 { font-size: 14px; margin: 16px 0 6px 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td { overflow-wrap: break-word; }
.uid, .hash, code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 11px; }
.uid, .hash { word-break: break-all; }
td code { overflow-wrap: anywhere; }
#constraint-table { table-layout: fixed; }
#constraint-table td.num, #constraint-table .status { white-space: normal; }
table.kv th { width: 220px; }
.status { font-weight: 700; white-space: nowrap; }
.status-pass { color: var(--pass); background: var(--pass-bg); }
.status-warn { color: var(--warn); background: var(--warn-bg); }
.status-fail { color: var(--fail); background: var(--fail-bg); }
.status-not-evaluated, .status-unknown, .status-reported { color: var(--ne); background: var(--ne-bg); }
.severity-error { color: var(--fail); background: var(--fail-bg); font-weight: 700; }
.severity-error, .severity-warning, .severity-info { white-space: nowrap; }
.severity-warning { color: var(--warn); background: var(--warn-bg); font-weight: 700; }
.severity-info { color: var(--ne); background: var(--ne-bg); }
.outcome { display: inline-block; padding: 6px 14px; border-radius: 6px; font-size: 16px;
           font-weight: 700; border: 2px solid currentColor; margin: 8px 0; }
.counts { font-size: 14px; margin-left: 10px; }
.subtitle { color: #57606a; }
.badge { display: inline-block; padding: 2px 8px; border-radius: 10px; background: #ddf4ff;
         color: #0969da; font-weight: 600; font-size: 12px; margin-left: 8px; }
figure { margin: 8px 0; }
figure img { width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { color: #57606a; font-size: 12px; margin-top: 4px; }
.reason { color: #57606a; }
footer { margin-top: 32px; color: #57606a; font-size: 11px; border-top: 1px solid #d0d7de;
         padding-top: 6px; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 10px; padding: 0; }
  h2 { break-after: avoid; }
  tr, figure { break-inside: avoid; }
  .uid, .hash, code { font-size: 8.5px; }
}
"""

REPORT_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="plancheck {{ v.plancheck_version }}">
<title>{{ v.title }}</title>
<style>{{ styles }}</style>
</head>
<body>
<header>
<h1 id="title">{{ v.title }}</h1>
<div class="subtitle">Patient {{ v.patient.name }} · ID {{ v.patient.id }} · protocol {{ v.protocol.name }}
{%- if v.anonymized %}<span class="badge" id="anonymized">anonymised</span>{% endif %}</div>
<div id="outcome">
<span class="outcome status-{{ v.outcome }}">{{ v.outcome_symbol }} {{ v.outcome_label }}</span>
<span class="counts">{% for label, n in v.counts %}{{ label }}: <b>{{ n }}</b>{% if not loop.last %} · {% endif %}{% endfor %}</span>
</div>
{% if v.verdict_label and v.verdict_label != v.outcome_label %}<p id="verdict-label">Verdict: <b>{{ v.verdict_label }}</b></p>{% endif %}
{% if v.verdict_reasons %}<ul id="verdict-reasons">{% for kind, text in v.verdict_reasons %}<li><b>{{ kind }}:</b> {{ text }}</li>{% endfor %}</ul>{% endif %}
{% if v.missing_structures %}<p>Structures missing from the structure set: {{ v.missing_structures | join(", ") }}</p>{% endif %}
{% if v.absent_optional %}<p id="absent-optional">Optional organs not in the structure set (not graded): {{ v.absent_optional | join(", ") }}</p>{% endif %}
{% if v.failed %}<p>Failed: {% for c in v.failed %}<b>{{ c.id }}</b> ({{ c.structure }}, {{ c.metric }} = {{ c.value }}{% if c.unit %} {{ c.unit }}{% endif %}, goal {{ c.goal }}){% if not loop.last %}; {% endif %}{% endfor %}</p>{% endif %}
</header>

<section id="identification">
<h2>Patient and plan</h2>
<table class="kv">
<tr><th>Patient name</th><td>{{ v.patient.name }}</td></tr>
<tr><th>Patient ID</th><td>{{ v.patient.id }}</td></tr>
<tr><th>Birth date</th><td>{{ v.patient.birth_date }}</td></tr>
<tr><th>Structure set</th><td>{{ v.structure_set.label }} <span class="uid">{{ v.structure_set.sop_instance_uid }}</span></td></tr>
<tr><th>Frame of reference</th><td class="uid">{{ v.structure_set.frame_of_reference_uid }}</td></tr>
<tr><th>Plans evaluated</th><td>{{ v.plan_labels }}</td></tr>
</table>
</section>

<section id="course">
<h2>Course</h2>
<table id="plans">
<tr><th>Plan</th><th>Fractions</th><th>Prescription [Gy]</th><th>Approval</th><th>Dose from</th><th>SOP Instance UID</th><th>RTDOSE SOP Instance UIDs</th></tr>
{% for p in v.plans %}<tr><td>{{ p.label }}</td><td class="num">{{ p.n_fractions }}</td><td class="num">{{ p.prescription_gy }}</td><td>{{ p.approval_status }}</td><td>{{ p.dose_from }}</td><td class="uid">{{ p.sop_instance_uid }}</td><td class="uid">{% for u in p.rtdose_uids %}{{ u }}{% if not loop.last %}<br>{% endif %}{% endfor %}</td></tr>
{% else %}<tr><td colspan="7">No plan in the document.</td></tr>
{% endfor %}</table>
{% if v.dose_levels %}
<h3>Dose levels</h3>
<table id="dose-levels">
<tr><th>Level</th><th>Structure</th><th>Dose [Gy]</th><th>Fractions</th><th>Check</th><th>Message</th></tr>
{% for d in v.dose_levels %}<tr><td>{{ d.id }}</td><td>{{ d.structure }}</td><td class="num">{{ d.dose_gy }}</td><td class="num">{{ d.fractions }}</td><td class="status status-{{ d.status_class }}">{{ d.status }}</td><td>{{ d.message }}</td></tr>
{% endfor %}</table>
{% endif %}
<h3>Protocol</h3>
<table class="kv" id="protocol">
<tr><th>Name</th><td>{{ v.protocol.name }}</td></tr>
<tr><th>Title</th><td>{{ v.protocol.title }}</td></tr>
<tr><th>Description</th><td>{{ v.protocol.description }}</td></tr>
<tr><th>Selection</th><td>{{ v.protocol.selected }}{% if v.protocol.reason %} — {{ v.protocol.reason }}{% endif %}</td></tr>
<tr><th>Source</th><td><code>{{ v.protocol.file }}</code></td></tr>
<tr><th>SHA-256</th><td class="hash">{{ v.protocol.sha256 }}</td></tr>
</table>
</section>

<section id="constraints">
<h2>Constraints</h2>
<table id="constraint-table">
<colgroup><col style="width:11%"><col style="width:5%"><col style="width:9%"><col style="width:11%"><col style="width:12%"><col style="width:9%"><col style="width:6%"><col style="width:6%"><col style="width:5%"><col style="width:26%"></colgroup>
<tr><th>Status</th><th>Constraint</th><th>Structure</th><th>ROI used</th><th>Metric</th><th>Value</th><th>Goal</th><th>Acceptable</th><th>Priority</th><th>Reason / source</th></tr>
{% for c in v.constraints %}<tr class="constraint row-{{ c.status_class }}" data-status="{{ c.status_class }}">
<td class="status status-{{ c.status_class }}">{{ c.symbol }} {{ c.status_label }}</td>
<td>{{ c.id }}</td><td>{{ c.structure }}</td>
<td>{{ c.matched_roi }}{% if c.match %} <span class="reason">({{ c.match }})</span>{% endif %}</td>
<td><code>{{ c.metric }}</code></td><td class="num">{{ c.value }}{% if c.unit %} {{ c.unit }}{% endif %}</td>
<td class="num">{{ c.goal }}</td><td class="num">{{ c.variation }}</td><td class="num">{{ c.priority }}</td>
<td>{% if c.reason %}<span class="reason">{{ c.reason }}</span>{% if c.source %}<br>{% endif %}{% endif %}{{ c.source }}</td></tr>
{% else %}<tr><td colspan="10">The protocol has no constraint.</td></tr>
{% endfor %}</table>
</section>

<section id="dvh">
<h2>Dose-volume histograms</h2>
{% if v.figure %}<figure id="dvh-figure">
<img id="dvh-plot" src="{{ v.figure.data_uri }}" alt="Cumulative DVH of the evaluated structures with the constraints drawn as markers">
<figcaption>Cumulative DVHs as stored in the evaluation document (solid: physical dose; other line styles: EQD2/BED, as labelled).
Markers: each evaluated constraint at the dose it reads, on the curve of its structure (edge colour) — ● pass, ▲ warn, ✖ fail, ◆ reported.
{% if v.figure.not_drawn %}Not drawn: {% for cid, why in v.figure.not_drawn %}{{ cid }} ({{ why }}){% if not loop.last %}; {% endif %}{% endfor %}.{% endif %}</figcaption>
</figure>
{% else %}<p id="dvh-missing">The evaluation document stores no DVH curve; re-run the evaluation with curves to draw them.</p>{% endif %}
{% if v.structures %}<table id="structures">
<tr><th>Structure</th><th>ROI</th><th>Protocol structure</th><th>Volume [cc]</th><th>Outside dose grid [cc]</th></tr>
{% for s in v.structures %}<tr><td>{{ s.name }}</td><td class="num">{{ s.roi_number }}</td><td>{{ s.protocol_structure }}</td><td class="num">{{ s.volume_cc }}</td><td class="num">{{ s.outside_cc }}</td></tr>
{% endfor %}</table>{% endif %}
</section>

<section id="findings">
<h2>Data quality</h2>
{% if v.findings %}<table id="findings-table">
<tr><th>Severity</th><th>Finding</th><th>Message</th><th>File</th></tr>
{% for f in v.findings %}<tr><td class="severity-{{ f.severity_class }}">{{ f.severity }}</td><td><code>{{ f.code }}</code></td><td>{{ f.message }}</td><td><code>{{ f.path }}</code></td></tr>
{% endfor %}</table>
{% else %}<p>No data-quality finding.</p>{% endif %}
</section>

{% for block in v.extra_tables %}
<section id="{{ block.id }}">
<h2>{{ block.title }}</h2>
<table>
<tr>{% for h in block.columns %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in block.rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</table>
</section>
{% endfor %}

<section id="provenance">
<h2>Provenance</h2>
<table class="kv">
<tr><th>plancheck version</th><td>{{ v.plancheck_version }}</td></tr>
<tr><th>Python</th><td>{{ v.python }}</td></tr>
<tr><th>Evaluated</th><td>{{ v.created }}</td></tr>
<tr><th>Plan folder</th><td><code>{{ v.protocol.source_folder }}</code></td></tr>
<tr><th>Protocol file</th><td><code>{{ v.protocol.file }}</code></td></tr>
<tr><th>Protocol SHA-256</th><td class="hash">{{ v.protocol.sha256 }}</td></tr>
{% for key, value in v.settings %}<tr><th>Setting: {{ key }}</th><td><code>{{ value }}</code></td></tr>
{% endfor %}{% if v.anonymized %}<tr><th>Anonymisation</th><td>{{ v.anonymized }}</td></tr>{% endif %}
</table>
<h3>Input files</h3>
<table id="input-files">
<tr><th>File</th><th>Modality</th><th>SOP Instance UID</th><th>SHA-256</th></tr>
{% for f in v.input_files %}<tr><td><code>{{ f.path }}</code></td><td>{{ f.modality }}</td><td class="uid">{{ f.sop_instance_uid }}</td><td class="hash">{{ f.sha256 }}</td></tr>
{% else %}<tr><td colspan="4">Not recorded.</td></tr>
{% endfor %}</table>
</section>

<footer>Made by plancheck {{ v.renderer_version }} from evaluation document schema {{ v.schema_version }}. Every number on this page is the one in the document; none was recomputed.</footer>
</body>
</html>
"""
