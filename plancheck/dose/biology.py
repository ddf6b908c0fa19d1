"""Linear-quadratic conversions, voxel by voxel.

With ``D`` the total dose of one plan in a voxel, ``n`` its fraction count and
``d = D / n`` the dose per fraction (PHYSICS.md, "Linear-quadratic
conversions"):

* ``BED = D (1 + d / (α/β))``
* ``EQD2 = D (d + α/β) / (2 + α/β)``

For a course of plans each voxel's values add: ``EQD2 = Σ_i D_i (D_i / n_i +
α/β) / (2 + α/β)``. Each plan is converted with its own fraction count before
the sum, because the maxima of two plans need not fall in the same voxel and
their fraction sizes differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plancheck.dvh.metric import DoseKind, DoseQuantity

__all__ = ["LqConversion", "bed_gy", "conversion_for", "eqd2_gy", "to_quantity"]

FloatArray = npt.NDArray[np.floating]


def _check(n_fractions: int, alpha_beta_gy: float) -> None:
    if n_fractions < 1:
        raise ValueError(f"fraction count must be >= 1, got {n_fractions}")
    if not alpha_beta_gy > 0:
        raise ValueError(f"α/β must be > 0 Gy, got {alpha_beta_gy}")


def bed_gy(dose_gy: FloatArray, n_fractions: int, alpha_beta_gy: float) -> FloatArray:
    """Biologically effective dose of a plan's total dose delivered in ``n_fractions``."""
    _check(n_fractions, alpha_beta_gy)
    d = np.asarray(dose_gy, dtype=np.float64)
    return d * (1.0 + d / (n_fractions * alpha_beta_gy))


def eqd2_gy(dose_gy: FloatArray, n_fractions: int, alpha_beta_gy: float) -> FloatArray:
    """Equivalent dose in 2 Gy fractions of a plan's total dose delivered in ``n_fractions``."""
    _check(n_fractions, alpha_beta_gy)
    d = np.asarray(dose_gy, dtype=np.float64)
    return d * (d / n_fractions + alpha_beta_gy) / (2.0 + alpha_beta_gy)


def to_quantity(dose_gy: FloatArray, n_fractions: int, quantity: DoseQuantity) -> FloatArray:
    """Convert one plan's physical dose to ``quantity`` (physical returns the input)."""
    if quantity.kind is DoseKind.PHYSICAL:
        return np.asarray(dose_gy)
    assert quantity.alpha_beta_gy is not None
    if quantity.kind is DoseKind.EQD2:
        return eqd2_gy(dose_gy, n_fractions, quantity.alpha_beta_gy)
    return bed_gy(dose_gy, n_fractions, quantity.alpha_beta_gy)


@dataclass(frozen=True)
class LqConversion:
    """``f(D) = a D + b D²``: a plan part's physical dose to a dose quantity, per point.

    Physical dose is ``a = 1, b = 0``. EQD2 of a part of ``n`` fractions:
    ``a = α/β / (2 + α/β)``, ``b = 1 / (n (2 + α/β))``; BED: ``a = 1``,
    ``b = 1 / (n α/β)``. Every ``f`` here is increasing for ``D >= 0``, so
    the region receiving at least ``f(d)`` is the region receiving at least
    ``d``: a DVH converts by mapping its dose axis.
    """

    linear: float = 1.0
    quadratic: float = 0.0

    def __call__(self, dose_gy: FloatArray) -> FloatArray:
        d = np.asarray(dose_gy, dtype=np.float64)
        return d * (self.linear + self.quadratic * d)

    def slope(self, dose_gy: FloatArray) -> FloatArray:
        """``f'(D)``."""
        return self.linear + 2.0 * self.quadratic * np.asarray(dose_gy, dtype=np.float64)

    @property
    def is_identity(self) -> bool:
        return self.linear == 1.0 and self.quadratic == 0.0


def conversion_for(quantity: DoseQuantity, n_fractions: int | None) -> LqConversion:
    """The per-point conversion of a part of ``n_fractions`` fractions to ``quantity``.

    Raises
    ------
    ValueError
        For a biological quantity without a fraction count (callers report
        why the count is unknown before getting here).
    """
    if quantity.kind is DoseKind.PHYSICAL:
        return LqConversion()
    if n_fractions is None:
        raise ValueError(f"{quantity} needs the fraction count of every dose part")
    ab = quantity.alpha_beta_gy
    assert ab is not None
    _check(n_fractions, ab)
    if quantity.kind is DoseKind.EQD2:
        return LqConversion(ab / (2.0 + ab), 1.0 / (n_fractions * (2.0 + ab)))
    return LqConversion(1.0, 1.0 / (n_fractions * ab))
