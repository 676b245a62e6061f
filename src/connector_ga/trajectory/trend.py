"""A robust straight-line trend (Theil–Sen) with a confidence band on its slope.

The slope is the median of the slopes between every pair of points; the line goes through
(median x, median y); the band uses the slopes at the ranks Sen (1968) gives for the
confidence level (as scipy.stats.theilslopes computes them), through the same point. A
few outliers (a holiday week, an incident) do not move it much.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist, median


@dataclass(frozen=True)
class Trend:
    slope: float
    x0: float  # the line goes through (x0, y0)
    y0: float
    low_slope: float
    high_slope: float
    points: int

    def at(self, x: float, band: str = "central") -> float:
        slope = {"central": self.slope, "low": self.low_slope, "high": self.high_slope}[band]
        return self.y0 + slope * (x - self.x0)


def _repeats(values: Sequence[float]) -> list[int]:
    counts: dict[float, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return [k for k in counts.values() if k > 1]


def theil_sen(xs: Sequence[float], ys: Sequence[float], confidence: float = 0.8) -> Trend | None:
    """The trend of the points, or None with fewer than three of them."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys differ in length")
    n = len(xs)
    if n < 3:
        return None
    slopes = sorted(
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i in range(n)
        for j in range(i + 1, n)
        if xs[j] != xs[i]
    )
    if not slopes:
        return None
    slope = median(slopes)
    # Sen (1968), equation 2.6: the variance of Kendall's S, corrected for ties.
    variance = (
        n * (n - 1) * (2 * n + 5)
        - sum(k * (k - 1) * (2 * k + 5) for k in _repeats(xs))
        - sum(k * (k - 1) * (2 * k + 5) for k in _repeats(ys))
    ) / 18
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    spread = z * math.sqrt(max(variance, 0.0))
    total = len(slopes)
    low_rank = max(int(round((total - spread) / 2)) - 1, 0)
    high_rank = min(int(round((total + spread) / 2)), total - 1)
    return Trend(
        slope=slope,
        x0=median(xs),
        y0=median(ys),
        low_slope=slopes[low_rank],
        high_slope=slopes[high_rank],
        points=n,
    )
