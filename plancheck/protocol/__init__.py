"""Protocols: YAML files of dose levels, structures and constraints, and their evaluation.

* :mod:`~plancheck.protocol.schema` — the file format (pydantic models);
  :mod:`~plancheck.protocol.schema_export` its JSON Schema.
* :mod:`~plancheck.protocol.load` — safe loading with located errors
  (:mod:`~plancheck.protocol.yamldoc` does the YAML part), cross-checks in
  :mod:`~plancheck.protocol.checks`.
* :mod:`~plancheck.protocol.matching` — structure names to ROIs; site aliases files.
* :mod:`~plancheck.protocol.expressions` — the ``derived:`` syntax.
* :mod:`~plancheck.protocol.outcome` — goals, variations, outcome records.
* :mod:`~plancheck.protocol.evaluate` — ``evaluate_protocol`` from a metric source.
* :mod:`~plancheck.protocol.registry` — the shipped protocols;
  :mod:`~plancheck.protocol.selection` — choosing one from the plans found.
* :mod:`~plancheck.protocol.csv_import` — Eclipse/Mayo CSV templates to YAML.
* :mod:`~plancheck.protocol.bibliography` — the shipped bibliography; every cited key resolves.
* :mod:`~plancheck.protocol.recheck` — a saved document's statuses against its own numbers.
"""
