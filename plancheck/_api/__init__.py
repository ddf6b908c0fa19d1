"""The implementation of plancheck's public Python API.

Import the API from the top level (``import plancheck``; ``plancheck.load``,
``plancheck.evaluate`` and the types listed in ``plancheck.__all__``). The
modules of this package, like every other module of plancheck, are internal:
their names and contents may change in any release. ``docs/api.md`` documents
the public surface and ``CHANGELOG.md`` records every change to it.

The API is a thin layer over the code the command line runs
(:mod:`plancheck.pipeline`, :mod:`plancheck.dvh_report`,
:mod:`plancheck.evaluation`, :mod:`plancheck.report.evaluation_doc`), so the
API and the command line give identical numbers.
"""
