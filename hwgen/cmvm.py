"""Constant matrix-vector multiplication (CMVM) as an adder graph: ``y = x @ W`` with every
product replaced by shifts and additions, common subexpressions shared over the whole matrix.

The solve has three steps:

1. Every weight is written in canonical signed digits (CSD: digits -1, 0, 1, no two non-zero
   digits adjacent), so column ``j`` is a sum of terms ``±x_i << e``. Zero weights have no
   digits and cost nothing.
2. Greedy common-subexpression elimination over all columns at once: the pair of terms
   ``(x_a << e, ±x_b << (e + d))`` that occurs most often (over every column and every
   ``e``) becomes a new signal ``t = x_a ± (x_b << d)``, and each occurrence becomes one term
   ``t << e``. New signals pair like inputs, so a shared term can itself be built from shared
   terms. It stops when no pair occurs twice. Columns that are equal (or equal up to a shift
   and a sign) end as the same single term: they are computed once.
3. What is left of each column is summed by a tree that always adds the two terms available
   earliest (fewest adders deep), so the depth is the least the shared terms allow.

Every signal is an exact integer linear form of the inputs, and its range follows from the
inputs' ranges (exact, since the inputs are independent): :attr:`Solution.ranges` gives the
narrowest width each adder needs. :func:`evaluate` computes the graph in NumPy, so a solution
is checked against ``x @ W`` directly (:func:`check`).

The graph only ever adds: the golden model (``x @ W``) does not change, and the hardware
(:mod:`hwgen.hw.stages`) pipelines it as :meth:`Solution.pipeline` places the registers: every
``L`` adder levels, or by a delay model where a clock target is given (:class:`Pacing`)."""
from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass, field

import numpy as np

from .errors import HwgenError

#: a term of a column sum: (signal, left shift, sign +1/-1)
Term = tuple[int, int, int]


@dataclass(frozen=True)
class Adder:
    """``a + sign * (b << shift)``, ``shift >= 0``."""

    a: int
    b: int
    shift: int
    sign: int


@dataclass(frozen=True)
class DelayModel:
    """Delay of one adder on a target, for placing pipeline registers by a clock target:
    ``net_ns`` (the route into it) + ``cell_ns`` (its first carry cell) + ``carry_ns`` per
    further carry cell (a cell adds two bits), and ``overhead_ns`` per cycle (clock to out,
    setup, clock skew)."""

    name: str
    net_ns: float
    cell_ns: float
    carry_ns: float
    overhead_ns: float

    def adder_ns(self, bits: int) -> float:
        return self.net_ns + self.cell_ns + self.carry_ns * max(0, -(-bits // 2) - 1)

    def as_dict(self) -> dict:
        return {"name": self.name, "net_ns": self.net_ns, "cell_ns": self.cell_ns,
                "carry_ns_per_2_bits": self.carry_ns, "overhead_ns": self.overhead_ns}


#: ECP5 (speed grade 6) as nextpnr 0.11 times it, read off the routed critical paths of a
#: multiplier-free 16-32-8 MLP: clock to out 0.53 ns; a route between neighbouring slices
#: 1.1 to 2.0 ns; a CCU2C chain 0.45 ns in, 0.07 ns per further cell, 0.44 ns out. The
#: overhead is clock to out plus the route into the register. Routes in a nearly full
#: device are longer (up to 2.6 ns seen), so a dense design may need a lower target.
ECP5_DELAYS = DelayModel("ECP5-6 (nextpnr 0.11)", net_ns=1.6, cell_ns=0.9, carry_ns=0.07, overhead_ns=1.4)


@dataclass(frozen=True)
class Pacing:
    """How often a multiplier-free pipeline registers: every ``levels`` adder levels, or,
    with ``clock_mhz``, wherever the next adder would no longer fit the clock period by
    ``model``."""

    levels: int = 2
    clock_mhz: float | None = None
    model: DelayModel = ECP5_DELAYS

    def budget(self) -> float:
        if self.clock_mhz:
            return 1000.0 / self.clock_mhz - self.model.overhead_ns
        return float(self.levels)

    def adder_cost(self, bits: int) -> float:
        return self.model.adder_ns(bits) if self.clock_mhz else 1.0

    def describe(self) -> str:
        if self.clock_mhz:
            return f"registers placed by the {self.model.name} delay model for {self.clock_mhz:g} MHz"
        return "a register after every adder level" if self.levels == 1 else f"a register every {self.levels} adder levels"


@dataclass
class Solution:
    """An adder graph for ``x @ W``: signals ``0 .. n_in-1`` are the inputs, signal
    ``n_in + k`` is ``adders[k]``; ``outputs[j]`` is column ``j`` as one term, or ``None``
    for an all-zero column."""

    n_in: int
    adders: list[Adder]
    outputs: list[Term | None]
    levels: list[int] = field(default_factory=list)   # adder depth of every signal

    @property
    def depth(self) -> int:
        """Adder levels from the inputs to the deepest output."""
        return max([self.levels[t[0]] for t in self.outputs if t is not None], default=0)

    def ranges(self, in_lo: int, in_hi: int) -> list[tuple[int, int]]:
        """Exact (min, max) of every signal when every input lies in ``[in_lo, in_hi]``."""
        out = []
        for c in _linear_forms(self):
            pos, neg = np.where(c > 0, c, 0), np.where(c < 0, c, 0)
            out.append((int((pos * in_lo + neg * in_hi).sum()), int((pos * in_hi + neg * in_lo).sum())))
        return out

    def pipeline(self, pacing: "Pacing | int", in_lo: int = 0, in_hi: int = 0) -> tuple[list[int], list[int], int]:
        """Where each signal lives in the pipeline paced by ``pacing`` (a :class:`Pacing`, or
        an int: adder levels per cycle), the inputs in ``[in_lo, in_hi]``: (the cycle each
        signal is computed in (inputs: 0), the last cycle that reads it, the number of
        registers). Outputs are read in the last cycle.

        Every adder goes into the earliest cycle where it fits: after its operands, and
        within the cycle's budget counting the adders before it in that cycle. With adder
        levels ``L`` each adder costs 1 and a cycle holds ``L``, so an adder of level ``lv``
        lands in cycle ``(lv - 1) // L``. With a clock target each adder costs its delay
        (:meth:`DelayModel.adder_ns` of its carry-chain length) and a cycle holds the
        clock period less the register overhead; the column's final add (its bias, in the
        stage) is counted too, in a cycle of its own if it does not fit."""
        pacing = pacing if isinstance(pacing, Pacing) else Pacing(levels=pacing)
        n_in = self.n_in
        widths = [range_width(*r) for r in self.ranges(in_lo, in_hi)] if pacing.clock_mhz else None
        budget = pacing.budget()
        made = [0] * n_in
        at = [0.0] * n_in                     # when in its cycle a signal is ready
        for k, ad in enumerate(self.adders):
            cost = pacing.adder_cost(widths[n_in + k] - ad.shift if widths else 0)
            cycle = max(made[ad.a], made[ad.b])
            start = max(at[s] for s in (ad.a, ad.b) if made[s] == cycle)
            if start > 0 and start + cost > budget:
                cycle, start = cycle + 1, 0.0
            made.append(cycle)
            at.append(start + cost)
        n_regs = 0
        for t in self.outputs:
            if t is not None:
                final = at[t[0]] + pacing.adder_cost(widths[t[0]] + t[1] + 1 if widths else 0)
                n_regs = max(n_regs, made[t[0]] + (1 if pacing.clock_mhz and final > budget and at[t[0]] > 0 else 0))
        last = list(made)
        for k, ad in enumerate(self.adders):
            s = made[n_in + k]
            last[ad.a] = max(last[ad.a], s)
            last[ad.b] = max(last[ad.b], s)
        for t in self.outputs:
            if t is not None:
                last[t[0]] = n_regs
        return made, last, n_regs

    def register_bits(self, in_lo: int, in_hi: int, pacing: "Pacing | int") -> int:
        """Flip-flops of the pipeline registers: every value a later cycle reads."""
        made, last, n_regs = self.pipeline(pacing, in_lo, in_hi)
        widths = [range_width(*r) for r in self.ranges(in_lo, in_hi)]
        return sum(widths[s] * (last[s] - made[s]) for s in range(len(widths)) if last[s] > made[s])

    def adder_widths(self, in_lo: int, in_hi: int) -> list[int]:
        """Carry-chain bits of each adder: as wide as its shifted part (the low ``shift``
        bits of ``a`` pass through) plus one, at most its result's width."""
        r = self.ranges(in_lo, in_hi)
        return [max(1, range_width(*r[self.n_in + k]) - ad.shift) for k, ad in enumerate(self.adders)]

    def adder_bits(self, in_lo: int, in_hi: int) -> int:
        """Total carry-chain bits (:meth:`adder_widths`)."""
        return sum(self.adder_widths(in_lo, in_hi))


def range_width(lo: int, hi: int) -> int:
    """Bits of the narrowest two's-complement (signed when ``lo < 0``) word holding both."""
    if lo < 0:
        return max((-lo - 1).bit_length(), hi.bit_length()) + 1
    return max(hi.bit_length(), 1)


def csd(v: int) -> list[tuple[int, int]]:
    """Canonical signed digits of ``v``: ``[(shift, sign)]`` with ``v = sum(sign << shift)``,
    no two shifts adjacent (the fewest non-zero digits of any signed-digit form)."""
    digits, shift = [], 0
    while v:
        if v & 1:
            d = 2 - (v & 3)          # +1 when v = 1 mod 4, -1 when v = 3 mod 4
            digits.append((shift, d))
            v -= d
        v >>= 1
        shift += 1
    return digits


def _pair_key(p: Term, q: Term) -> tuple:
    """The shared-term key of two terms of one column: (a, b, d, sign) for
    ``t = a + sign * (b << d)``, with ``a`` the term of the lower shift."""
    if (p[1], p[0]) > (q[1], q[0]):
        p, q = q, p
    return (p[0], q[0], q[1] - p[1], p[2] * q[2])


class _Columns:
    """Column term sets with incremental pair counts (a lazy max-heap of counts)."""

    def __init__(self, columns: list[dict]):
        self.cols = columns                           # col -> {(sig, shift): sign}
        self.where: dict[tuple, dict[int, int]] = {}  # key -> {col: occurrences}
        self.count: dict[tuple, int] = {}
        self.heap: list = []
        for j, col in enumerate(columns):
            terms = [(s, e, g) for (s, e), g in col.items()]
            for x in range(len(terms)):
                for y in range(x + 1, len(terms)):
                    self._bump(_pair_key(terms[x], terms[y]), j, 1)
        for key, n in self.count.items():
            self.heap.append((-n, key))
        heapq.heapify(self.heap)

    def _bump(self, key, j: int, delta: int, push: bool = False) -> None:
        w = self.where.setdefault(key, {})
        w[j] = w.get(j, 0) + delta
        if not w[j]:
            del w[j]
        n = self.count.get(key, 0) + delta
        self.count[key] = n
        if push and delta > 0:
            heapq.heappush(self.heap, (-n, key))

    def best(self):
        """The most frequent key (ties: the smallest key), or None when none occurs twice."""
        while self.heap:
            n, key = self.heap[0]
            if -n == self.count.get(key, 0):
                return key if -n >= 2 else None
            heapq.heappop(self.heap)
            if self.count.get(key, 0) >= 2:
                heapq.heappush(self.heap, (-self.count[key], key))
        return None

    def remove(self, j: int, term: Term) -> None:
        col = self.cols[j]
        del col[(term[0], term[1])]
        for (s, e), g in col.items():
            self._bump(_pair_key(term, (s, e, g)), j, -1)

    def add(self, j: int, term: Term) -> None:
        col = self.cols[j]
        for (s, e), g in col.items():
            self._bump(_pair_key(term, (s, e, g)), j, 1, push=True)
        col[(term[0], term[1])] = term[2]


def solve(weights) -> Solution:
    """The adder graph of ``x @ weights`` (``weights``: integers, shape (n_in, n_out))."""
    w = np.asarray(weights)
    if w.ndim != 2:
        raise HwgenError(f"cmvm needs a 2-D weight matrix, got shape {w.shape}")
    key = hashlib.sha256(repr((w.shape, [int(v) for v in w.reshape(-1)])).encode()).hexdigest()
    return _cached_solve(w, key)


def _cached_solve(w: np.ndarray, digest: str) -> Solution:
    """:func:`_solve`, kept in :mod:`hwgen.cache` like the Verilog (a solve of a large layer
    takes seconds; ``hwgen synth`` and ``sim`` plan the build again). A cached graph is
    checked against the matrix before use."""
    import json

    from . import cache
    if not cache.enabled():
        return _solve(w)
    key = cache.key("cmvm", digest)
    text = cache.get(key, ".json")
    if text is not None:
        try:
            d = json.loads(text)
            sol = Solution(d["n_in"], [Adder(*a) for a in d["adders"]],
                           [tuple(t) if t is not None else None for t in d["outputs"]], d["levels"])
            check(sol, w)
            return sol
        except (ValueError, KeyError, TypeError, HwgenError):
            pass                              # a damaged entry: solve again and overwrite it
    sol = _solve(w)
    cache.put(key, ".json", json.dumps({"n_in": sol.n_in, "levels": sol.levels, "outputs": sol.outputs,
                                        "adders": [[a.a, a.b, a.shift, a.sign] for a in sol.adders]}))
    return sol



#: digit pairs one common-subexpression search looks at, at most: larger matrices are split
#: into row blocks searched one after the other (terms are then shared within a block)
BLOCK_PAIRS = 300_000
#: digit pairs of a whole matrix beyond which no sharing is searched at all (each column is a
#: plain CSD adder tree): the search is pure Python, about 1 s per 100,000 pairs
MAX_PAIRS = 3_000_000


def _row_blocks(columns_per_row: list[np.ndarray]) -> list[list[int]]:
    """Consecutive rows grouped so that each group's pair count stays under BLOCK_PAIRS."""
    blocks, rows, counts = [], [], None
    for i, digits in enumerate(columns_per_row):
        trial = digits if counts is None else counts + digits
        if rows and int((trial * (trial - 1) // 2).sum()) > BLOCK_PAIRS:
            blocks.append(rows)
            rows, trial = [], digits
        rows.append(i)
        counts = trial
    if rows:
        blocks.append(rows)
    return blocks


def _solve(w: np.ndarray) -> Solution:
    n_in, n_out = w.shape
    digits = [[csd(int(w[i, j])) for j in range(n_out)] for i in range(n_in)]
    per_row = [np.array([len(d) for d in row], dtype=np.int64) for row in digits]
    total = sum(per_row) if n_in else np.zeros(n_out, dtype=np.int64)
    share = int((total * (total - 1) // 2).sum()) <= MAX_PAIRS
    blocks = _row_blocks(per_row) if share else [list(range(n_in))]
    adders: list[Adder] = []
    levels = [0] * n_in
    final: list[dict] = [{} for _ in range(n_out)]
    for rows in blocks:
        columns = [{(i, shift): sign for i in rows for shift, sign in digits[i][j]} for j in range(n_out)]
        if share:
            _share(columns, adders, levels, n_in)
        for j, col in enumerate(columns):
            final[j].update(col)
    # Each column: add the two terms available earliest until one is left.
    outputs: list[Term | None] = []
    for col in final:
        heap = [(levels[s], e, s, g) for (s, e), g in sorted(col.items())]
        heapq.heapify(heap)
        while len(heap) > 1:
            _, ep, sp, gp = heapq.heappop(heap)
            _, eq, sq, gq = heapq.heappop(heap)
            a, b, d, sign = _pair_key((sp, ep, gp), (sq, eq, gq))
            lo_term = (sp, ep, gp) if (ep, sp) < (eq, sq) else (sq, eq, gq)
            t = n_in + len(adders)
            adders.append(Adder(a, b, d, sign))
            levels.append(max(levels[a], levels[b]) + 1)
            heapq.heappush(heap, (levels[t], lo_term[1], t, lo_term[2]))
        outputs.append((heap[0][2], heap[0][1], heap[0][3]) if heap else None)
    return Solution(n_in, adders, outputs, levels)


def _share(columns: list[dict], adders: list[Adder], levels: list[int], n_in: int) -> None:
    """Greedy common-subexpression elimination on ``columns`` (in place), appending the
    shared terms to ``adders``/``levels``."""
    cols = _Columns(columns)
    while (key := cols.best()) is not None:
        a, b, d, sign = key
        t = n_in + len(adders)
        adders.append(Adder(a, b, d, sign))
        levels.append(max(levels[a], levels[b]) + 1)
        for j in sorted(cols.where.get(key, {})):
            col = cols.cols[j]
            # non-overlapping occurrences, lowest shift first
            for e in sorted(e for (s, e) in list(col) if s == a):
                if (a, e) not in col or (b, e + d) not in col:
                    continue
                ga, gb = col[(a, e)], col[(b, e + d)]
                if ga * gb != sign:
                    continue
                cols.remove(j, (a, e, ga))
                cols.remove(j, (b, e + d, gb))
                cols.add(j, (t, e, ga))


def _linear_forms(sol: Solution) -> list[np.ndarray]:
    """Every signal as its integer coefficient vector over the inputs."""
    forms = [np.zeros(sol.n_in, dtype=object) for _ in range(sol.n_in)]
    for i in range(sol.n_in):
        forms[i][i] = 1
    for ad in sol.adders:
        forms.append(forms[ad.a] + ad.sign * (forms[ad.b] * (1 << ad.shift)))
    return forms


def evaluate(sol: Solution, x) -> np.ndarray:
    """The graph on integer inputs ``x`` (shape (..., n_in)), in Python integers."""
    x = np.asarray(x).astype(object)
    vals = [x[..., i] for i in range(sol.n_in)]
    for ad in sol.adders:
        vals.append(vals[ad.a] + ad.sign * (vals[ad.b] * (1 << ad.shift)))
    zero = np.zeros(x.shape[:-1], dtype=object)
    cols = [zero if t is None else t[2] * (vals[t[0]] * (1 << t[1])) for t in sol.outputs]
    return np.stack(cols, axis=-1)


def check(sol: Solution, weights) -> None:
    """Raise unless the graph computes ``x @ weights`` exactly (compared as linear forms,
    which covers every input at once)."""
    w = np.asarray(weights).astype(object)
    forms = _linear_forms(sol)
    for j, t in enumerate(sol.outputs):
        got = np.zeros(sol.n_in, dtype=object) if t is None else t[2] * forms[t[0]] * (1 << t[1])
        if not np.array_equal(got, w[:, j]):
            bad = int(np.flatnonzero(got != w[:, j])[0])
            raise HwgenError(f"cmvm graph is wrong: column {j} has weight {got[bad]} for input "
                             f"{bad}, the matrix has {w[bad, j]}")
