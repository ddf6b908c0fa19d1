"""Phantoms with known DVH truth, and the spine sample plans.

* :mod:`~plancheck.phantoms.shapes`: solids (sphere, cylinder and tilted
  cylinder, cone, ring with a hole, two-part ROI, ellipsoid, elliptic
  cylinder) and their contours on axial planes.
* :mod:`~plancheck.phantoms.fields`: linear dose fields and grid axes.
* :mod:`~plancheck.phantoms.truth`: the exact DVH of a contour stack in a
  linear field (:class:`~plancheck.phantoms.truth.PhantomTruth`).
* :mod:`~plancheck.phantoms.build`: a phantom case from a
  :class:`~plancheck.phantoms.build.PhantomSpec`, in memory
  (:func:`~plancheck.phantoms.build.build_phantom`) or written with its
  ``truth.json`` (:func:`~plancheck.phantoms.build.write_phantom`).
* :mod:`~plancheck.phantoms.spine`: the spine SIB sample plans
  (:func:`~plancheck.phantoms.spine.write_sample_plans`).
* :mod:`~plancheck.phantoms.reirradiation`: a prior and a current spine course
  on two frames of reference with their registration and closed-form doses
  (:func:`~plancheck.phantoms.reirradiation.write_reirradiation`).
"""
