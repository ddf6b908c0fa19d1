"""Batch QA: every plan folder under a root, evaluated in parallel, summarised by severity.

``discover`` finds plan folders (headers only), ``task`` evaluates one and
writes its reports, ``runner`` spreads tasks over processes or Dask,
``resume`` skips unchanged plans, ``run`` ties them together.
"""
