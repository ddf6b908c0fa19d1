"""Batch QA: every plan under a folder, in parallel, with a summary."""
