"""Re-irradiation: prior courses on their own frames of reference, mapped and summed in EQD2.

* :mod:`~plancheck.reirradiation.request`: what the user asks for (prior
  folders, registration files, dates, a recovery discount).
* :mod:`~plancheck.reirradiation.field_mapping`: a registration's point
  mapping as a dose-field mapping (rigid matrix, or deformation vector grid).
* :mod:`~plancheck.reirradiation.load`: each prior folder loaded as a course
  of its own, its registration to the current course found (never assumed),
  and the dates of both courses.
* :mod:`~plancheck.reirradiation.engine`: the metric source that answers
  ``dose: prior``, ``dose: cumulative`` and ratios.
* :mod:`~plancheck.reirradiation.evaluate`: what an evaluation with prior
  courses adds (interval outcome, findings, the summary for reports).
* :mod:`~plancheck.reirradiation.cumulative`: the cumulative EQD2 on the
  current dose grid, for writing an RTDOSE.
"""

from plancheck.reirradiation.request import PriorRequest

__all__ = ["PriorRequest"]
