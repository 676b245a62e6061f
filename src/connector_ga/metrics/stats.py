"""Statistics on counts: Wilson score intervals and the sample that would make a pass confident."""

from __future__ import annotations

import math
from fractions import Fraction
from statistics import NormalDist


def z_score(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, total: int, z: float) -> tuple[float, float] | None:
    """The Wilson score interval for successes/total; None when total is 0."""
    if total <= 0:
        return None
    p = successes / total
    z2 = z * z
    centre = p + z2 / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    denominator = 1 + z2 / total
    low, high = (centre - margin) / denominator, (centre + margin) / denominator
    return max(0.0, low), min(1.0, high)


def _lower(p: float, n: int, z: float) -> float:
    z2 = z * z
    centre = p + z2 / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (centre - margin) / (1 + z2 / n)


def confident_sample(
    successes: int, total: int, threshold: Fraction, strict: bool, z: float
) -> int | None:
    """The smallest sample at the observed rate whose Wilson lower bound clears the threshold.

    None when the observed rate itself does not clear it (no sample would).
    """
    if total <= 0:
        return None
    p = successes / total
    observed = Fraction(successes, total)
    if observed < threshold or (strict and observed == threshold) or observed == threshold:
        return None
    t = float(threshold)

    def clears(n: int) -> bool:
        low = _lower(p, n, z)
        return low > t if strict else low >= t

    high = max(total, 1)
    while not clears(high):
        high *= 2
        if high > 10**15:
            return None
    low = 1
    while low < high:
        mid = (low + high) // 2
        if clears(mid):
            high = mid
        else:
            low = mid + 1
    return low
