"""Exact real numbers ``p + q * sqrt(w)`` (``p``, ``q``, ``w`` rationals), the values a
BatchNormalization takes: ``(x - mean) * gamma / sqrt(var + eps) + beta`` with float32
constants read as the exact rationals they are. Enough arithmetic for the exact threshold
solver (:mod:`hwgen.frontend.streamline`): sums, products and quotients that stay in one
``sqrt(w)``, exact comparisons, floor, ceil and round-half-even."""
from __future__ import annotations

import math
from fractions import Fraction


class MixedRootsError(ValueError):
    """Two different square roots met: the chain is not solved exactly."""


def _rational_sqrt(w: Fraction) -> Fraction | None:
    n, d = math.isqrt(w.numerator), math.isqrt(w.denominator)
    return Fraction(n, d) if n * n == w.numerator and d * d == w.denominator else None


class Surd:
    __slots__ = ("p", "q", "w")

    def __init__(self, p=0, q=0, w=1):
        p, q, w = Fraction(p), Fraction(q), Fraction(w)
        if w <= 0:
            raise ValueError("sqrt of a non-positive number")
        root = _rational_sqrt(w) if q else None
        if q == 0 or root is not None:
            p, q, w = p + (q * root if root is not None else 0), Fraction(0), Fraction(1)
        self.p, self.q, self.w = p, q, w

    @classmethod
    def _make(cls, p: Fraction, q: Fraction, w: Fraction) -> "Surd":
        """No normalization: ``w`` is already known not to be a rational square."""
        s = object.__new__(cls)
        s.p, s.q, s.w = p, q, (w if q else Fraction(1))
        return s

    @classmethod
    def of(cls, x) -> "Surd":
        return x if isinstance(x, Surd) else cls._make(Fraction(x), Fraction(0), Fraction(1))

    def _root(self, other: "Surd") -> Fraction:
        if self.q and other.q and self.w != other.w:
            raise MixedRootsError("two different square roots")
        return self.w if self.q else other.w

    def __add__(self, other):
        o = Surd.of(other)
        return Surd._make(self.p + o.p, self.q + o.q, self._root(o))

    __radd__ = __add__

    def __neg__(self):
        return Surd._make(-self.p, -self.q, self.w)

    def __sub__(self, other):
        return self + (-Surd.of(other))

    def __rsub__(self, other):
        return Surd.of(other) - self

    def __mul__(self, other):
        o = Surd.of(other)
        w = self._root(o)
        # (p + q r)(p' + q' r) = p p' + q q' w + (p q' + q p') r,  r = sqrt(w)
        return Surd._make(self.p * o.p + self.q * o.q * w, self.p * o.q + self.q * o.p, w)

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = Surd.of(other)
        if o.q == 0:
            if o.p == 0:
                raise ZeroDivisionError("division by zero")
            return Surd._make(self.p / o.p, self.q / o.p, self.w)
        # multiply by the conjugate: 1 / (p + q r) = (p - q r) / (p^2 - q^2 w)
        w = self._root(o)
        norm = o.p * o.p - o.q * o.q * w
        return self * Surd._make(o.p / norm, -o.q / norm, w)

    def __rtruediv__(self, other):
        return Surd.of(other) / self

    def sign(self) -> int:
        ps, qs = (self.p > 0) - (self.p < 0), (self.q > 0) - (self.q < 0)
        if qs == 0 or ps == qs:
            return ps or qs
        if ps == 0:
            return qs
        # opposite signs: the larger magnitude wins (compare squares)
        a, b = self.p * self.p, self.q * self.q * self.w
        return ps if a > b else qs if a < b else 0

    def _cmp(self, other) -> int:
        return (self - other).sign()

    def __eq__(self, other):
        return isinstance(other, (Surd, int, Fraction)) and self._cmp(other) == 0

    def __hash__(self):
        return hash((self.p, self.q, self.w))

    def __lt__(self, other):
        return self._cmp(other) < 0

    def __le__(self, other):
        return self._cmp(other) <= 0

    def __gt__(self, other):
        return self._cmp(other) > 0

    def __ge__(self, other):
        return self._cmp(other) >= 0

    def __float__(self):
        return float(self.p) + float(self.q) * math.sqrt(float(self.w))

    def __floor__(self) -> int:
        if self.q == 0:
            return math.floor(self.p)
        # floor(2**k * value) to within 2, in exact integers (isqrt of the squared root
        # term), then at most a step or two of exact comparison
        k = 64
        t = self.q * self.q * self.w * (1 << (2 * k))
        root = math.isqrt(t.numerator // t.denominator)
        approx = math.floor(self.p * (1 << k)) + (root if self.q > 0 else -root - 1)
        n = approx >> k
        while self < n:
            n -= 1
        while self >= n + 1:
            n += 1
        return n

    def __ceil__(self) -> int:
        return -math.floor(-self)

    def __round__(self, ndigits=None) -> int:
        """Round half to even, like ``round`` on a Fraction."""
        n = math.floor(self)
        rest = self - n
        if rest > Fraction(1, 2):
            return n + 1
        if rest < Fraction(1, 2):
            return n
        return n if n % 2 == 0 else n + 1

    def __repr__(self):
        return f"Surd({self.p} + {self.q}*sqrt({self.w}))"
