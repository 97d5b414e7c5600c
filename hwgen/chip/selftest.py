"""The hardware self-test top: the core of a build folder with N test vectors and their
golden outputs in block RAM, fed and drained under a pseudo-random pattern of input gaps
and output backpressure, reporting PASS or the first failing vector on LEDs and a UART.

LEDs: 0 = PASS, 1 = FAIL, 2 = running (blinks), the others = the count of checked outputs
(high bits). The UART (8N1, 115200 baud) sends one line when the test ends and again about
every second: ``PASS 1024/1024`` or ``FAIL at 17 (16/1024 passed)``; a core that stops
answering for 2**20 cycles gives ``FAIL at K (timeout)``.

``hwgen selftest`` simulates this very component (the same Verilog the board build
synthesizes, minus the board's pin buffers) in Verilator, decoding the UART line."""
from __future__ import annotations

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Mux, ResetSignal, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import Out

BAUD = 115_200
WATCHDOG_BITS = 20
LFSR_TAPS = (16, 14, 13, 11)  # x^16 + x^14 + x^13 + x^11 + 1, maximal length


def _text(s: str) -> list[int]:
    return [ord(c) for c in s]


class SelfTest(wiring.Component):
    """Self-test around the core ``top`` (a Verilog module from the build's ``rtl/``).

    ``inputs``, ``expected``: packed beats (Python ints) of the input and output ports;
    ``clk_hz``: the clock, for the UART divisor; ``n_leds``: LEDs to drive."""

    def __init__(self, top: str, in_width: int, out_width: int, inputs: list[int], expected: list[int],
                 clk_hz: float, n_leds: int = 8):
        if len(inputs) != len(expected) or not inputs:
            raise ValueError("need as many expected outputs as inputs, at least one")
        self.top, self.in_width, self.out_width = top, in_width, out_width
        self.inputs, self.expected = list(inputs), list(expected)
        self.n = len(inputs)
        self.divisor = max(int(round(clk_hz / BAUD)), 2)
        self.n_leds = n_leds
        super().__init__({"leds": Out(n_leds), "uart_tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        n = self.n
        idx_bits = max(n.bit_length(), 1)

        # pseudo-random traffic: an idle input cycle and a backpressure cycle are 1 in 4 each
        lfsr = Signal(16, init=0xACE1)
        fb = lfsr[LFSR_TAPS[0] - 1] ^ lfsr[LFSR_TAPS[1] - 1] ^ lfsr[LFSR_TAPS[2] - 1] ^ lfsr[LFSR_TAPS[3] - 1]
        m.d.sync += lfsr.eq(Cat(fb, lfsr[:-1]))
        gap, stall = lfsr[0] & lfsr[5], lfsr[9] & lfsr[13]

        # vector memories, read one beat ahead (synchronous read ports: block RAM)
        m.submodules.vin = vin = memory.Memory(shape=self.in_width, depth=n, init=self.inputs)
        m.submodules.vexp = vexp = memory.Memory(shape=self.out_width, depth=n, init=self.expected)
        rin, rexp = vin.read_port(), vexp.read_port()

        sent = Signal(idx_bits)
        got = Signal(idx_bits)
        passed = Signal(idx_bits)
        failed = Signal()
        fail_at = Signal(idx_bits)
        timeout = Signal()
        started = Signal()
        done = Signal()
        quiet = Signal(WATCHDOG_BITS + 1)

        s_valid, s_ready = Signal(), Signal()
        m_valid, m_ready, m_data = Signal(), Signal(), Signal(self.out_width)
        send = s_valid & s_ready
        take = m_valid & m_ready
        m.d.comb += [
            s_valid.eq(started & (sent < n) & ~gap),
            m_ready.eq(started & ~done & ~stall),
            rin.addr.eq(Mux(send, sent + 1, sent)),
            rexp.addr.eq(Mux(take, got + 1, got)),
        ]
        m.d.sync += started.eq(1)
        with m.If(send):
            m.d.sync += sent.eq(sent + 1)
        with m.If(take):
            m.d.sync += [got.eq(got + 1), quiet.eq(0)]
            with m.If(m_data == rexp.data):
                m.d.sync += passed.eq(passed + 1)
            with m.Elif(~failed):
                m.d.sync += [failed.eq(1), fail_at.eq(got)]
            with m.If(got == n - 1):
                m.d.sync += done.eq(1)
        with m.Elif(started & ~done):
            m.d.sync += quiet.eq(quiet + 1)
            with m.If(quiet[WATCHDOG_BITS]):
                m.d.sync += [done.eq(1), timeout.eq(1), failed.eq(1), fail_at.eq(got)]

        m.submodules.core = Instance(
            self.top, i_clk=ClockSignal(), i_rst=ResetSignal(),
            i_s_axis_tdata=rin.data, i_s_axis_tvalid=s_valid, o_s_axis_tready=s_ready,
            o_m_axis_tdata=m_data, o_m_axis_tvalid=m_valid, i_m_axis_tready=m_ready)

        # LEDs
        blink = Signal(24)
        m.d.sync += blink.eq(blink + 1)
        ok = done & ~failed
        progress_bits = max(self.n_leds - 3, 0)
        leds = [ok, failed, ~done & blink[-1]]
        if progress_bits:
            leds.append(got[max(idx_bits - progress_bits, 0):][:progress_bits])
        m.d.comb += self.leds.eq(Cat(*leds)[:self.n_leds])

        self._uart(m, done, failed, timeout, fail_at, passed)
        return m

    def _uart(self, m, done, failed, timeout, fail_at, passed):
        """Send the verdict line when done, then again every 2**24 cycles."""
        n = self.n
        digits = len(str(n))
        # The line is assembled from constant text and decimal fields; fields are converted
        # by repeated subtraction, one digit at a time, just before they are sent.
        pass_msg = _text("PASS ") + [-1] + _text(f"/{n}\r\n")            # -1: the `passed` field
        fail_msg = _text("FAIL at ") + [-2] + [-3] + _text(" (") + [-1] + _text(f"/{n} passed)\r\n")
        # -3: " (timeout)" when the core stopped answering, else nothing
        pos = Signal(range(max(len(pass_msg), len(fail_msg)) + 1))
        digit = Signal(range(digits + 1))
        value = Signal(max(n.bit_length(), 1) + 1)
        leading = Signal()
        tmo = _text(" (timeout)")
        tpos = Signal(range(len(tmo) + 1))
        char = Signal(8)
        busy = Signal()
        shift = Signal(10, init=0x3FF)
        bits_left = Signal(4)
        tick = Signal(range(self.divisor))
        repeat = Signal(24)
        sending = Signal()

        m.d.comb += self.uart_tx.eq(shift[0])
        # the bit clock
        with m.If(busy):
            with m.If(tick == self.divisor - 1):
                m.d.sync += [tick.eq(0), shift.eq(Cat(shift[1:], 1)), bits_left.eq(bits_left - 1)]
                with m.If(bits_left == 1):
                    m.d.sync += busy.eq(0)
            with m.Else():
                m.d.sync += tick.eq(tick + 1)

        def put(c):
            m.d.sync += [shift.eq(Cat(Const(0, 1), c, Const(1, 1))), busy.eq(1), bits_left.eq(10), tick.eq(0)]

        powers = [10 ** k for k in range(digits - 1, -1, -1)]
        with m.FSM():
            with m.State("WAIT"):
                m.d.sync += repeat.eq(repeat + 1)
                with m.If(done & ((repeat == 0) | ~sending)):
                    m.d.sync += [pos.eq(0), sending.eq(1)]
                    m.next = "NEXT"
            with m.State("NEXT"):
                msg_p, msg_f = pass_msg, fail_msg
                with m.If(~busy):
                    for i in range(max(len(msg_p), len(msg_f))):
                        with m.If(pos == i):
                            for msg, cond in ((msg_p, ~failed), (msg_f, failed)):
                                if i >= len(msg):
                                    continue
                                c = msg[i]
                                with m.If(cond):
                                    if c >= 0:
                                        put(Const(c, 8))
                                        m.d.sync += pos.eq(pos + 1)
                                        if i == len(msg) - 1:
                                            m.next = "WAIT"
                                    elif c == -3:
                                        m.d.sync += tpos.eq(0)
                                        m.next = "TIMEOUT"
                                    else:
                                        m.d.sync += [value.eq(passed if c == -1 else fail_at), digit.eq(0),
                                                     char.eq(ord("0")), leading.eq(1)]
                                        m.next = "DIGIT"
            with m.State("TIMEOUT"):
                with m.If(~timeout | (tpos == len(tmo))):
                    m.d.sync += pos.eq(pos + 1)
                    m.next = "NEXT"
                with m.Elif(~busy):
                    with m.Switch(tpos):
                        for i, c in enumerate(tmo):
                            with m.Case(i):
                                put(Const(c, 8))
                    m.d.sync += tpos.eq(tpos + 1)
            with m.State("DIGIT"):
                # subtract the current power of ten until it no longer fits, then print
                power = Signal(value.shape())
                with m.Switch(digit):
                    for k, p in enumerate(powers):
                        with m.Case(k):
                            m.d.comb += power.eq(p)
                with m.If(value >= power):
                    m.d.sync += [value.eq(value - power), char.eq(char + 1)]
                with m.Elif(~busy):
                    last = digit == digits - 1
                    with m.If(~leading | (char != ord("0")) | last):
                        put(char)
                        m.d.sync += leading.eq(0)
                    m.d.sync += [digit.eq(digit + 1), char.eq(ord("0"))]
                    with m.If(last):
                        m.d.sync += pos.eq(pos + 1)
                        m.next = "NEXT"


def vectors(out, n: int | None, corrupt: int | None = None) -> tuple[list[int], list[int]]:
    """The first ``n`` test vectors of build folder ``out`` as packed beats (from
    ``tb/*.hex``); with ``corrupt=K`` the expected output of vector K has bit 0 flipped."""
    from pathlib import Path
    from ..errors import HwgenError
    tb = Path(out) / "tb"
    xs = [int(line, 16) for line in (tb / "inputs.hex").read_text().split()]
    ys = [int(line, 16) for line in (tb / "outputs.hex").read_text().split()]
    if n is not None:
        if n < 1 or n > len(xs):
            raise HwgenError(f"--vectors must be between 1 and {len(xs)} (the build's test vectors)")
        xs, ys = xs[:n], ys[:n]
    if corrupt is not None:
        if not 0 <= corrupt < len(ys):
            raise HwgenError(f"--corrupt must be a vector index between 0 and {len(ys) - 1}")
        ys[corrupt] ^= 1
    return xs, ys
