"""In-memory structures and dose grids with closed-form DVHs, for engine tests.

These skip DICOM entirely so that a failure points at the engine, not at a
reader. Contours are regular polygons with vertices on the true boundary and
enough of them (512) that the polygon's area differs from the circle's by
less than 3e-5.
"""

from __future__ import annotations

import numpy as np

from plancheck.model import ContourPlane, DoseGrid, Structure

N_VERTICES = 512


def circle(cx: float, cy: float, r: float, n: int = N_VERTICES) -> np.ndarray:
    th = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return np.column_stack([cx + r * np.cos(th), cy + r * np.sin(th)])


def sphere(radius_mm: float, spacing_mm: float, centre=(0.0, 0.0, 0.0), roi_number: int = 1) -> Structure:
    """Planes at the slab midpoints of a sphere, so the slab stack approximates it to O(spacing²)."""
    cx, cy, cz = centre
    offsets = np.arange(-radius_mm + spacing_mm / 2, radius_mm, spacing_mm)
    planes = []
    for dz in offsets:
        r = np.sqrt(radius_mm**2 - dz**2)
        planes.append(ContourPlane(float(cz + dz), (circle(cx, cy, r),)))
    return Structure(roi_number, "Sphere", "PTV", tuple(planes))


def prism(polygons: list[np.ndarray], z_planes: np.ndarray, name: str = "Prism", roi_number: int = 1) -> Structure:
    return Structure(
        roi_number, name, None, tuple(ContourPlane(float(z), tuple(polygons)) for z in z_planes)
    )


def linear_grid(
    spacing_mm: float,
    gradient_gy_per_mm=(0.0, 1.0, 0.0),
    offset_gy: float = 16.0,
    half_width_mm: float = 40.0,
    centre=(0.0, 0.0, 0.0),
    dtype=np.float32,
) -> DoseGrid:
    """Dose = offset + g·(x, y, z) on a cubic grid around ``centre``."""
    axes = [c + np.arange(-half_width_mm, half_width_mm + 1e-9, spacing_mm) for c in centre]
    x, y, z = axes
    gz, gy, gx = np.meshgrid(z, y, x, indexing="ij")
    g = gradient_gy_per_mm
    dose = offset_gy + g[0] * gx + g[1] * gy + g[2] * gz
    return DoseGrid(dose.astype(dtype), x, y, z, "1.2.3")


def sphere_cap_volume_mm3(radius: float, h: float) -> float:
    """Volume of the part of a sphere above the plane at signed height h from its centre."""
    h = float(np.clip(h, -radius, radius))
    return float(np.pi * (radius - h) ** 2 * (2 * radius + h) / 3.0)


def sphere_dose_at_volume_gy(radius: float, gradient: float, centre_dose: float, volume_mm3: float) -> float:
    """Dose D with V(D) = volume for a sphere in a linear field, by bisection on the cap formula."""
    lo, hi = -radius, radius
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if sphere_cap_volume_mm3(radius, mid) > volume_mm3:
            lo = mid
        else:
            hi = mid
    return centre_dose + gradient * 0.5 * (lo + hi)
