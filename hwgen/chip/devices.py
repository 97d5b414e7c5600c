"""The devices hwgen synthesizes for: capacities from the vendors' data sheets, and how
Yosys and nextpnr name them.

Capacities count what a design can use: LUT4s (ECP5, iCE40 logic cells, Gowin) or LUT6s
(Xilinx), flip-flops, hard multipliers (``dsp``: MULT18X18D, SB_MAC16, MULT18X18, DSP48E1),
block RAMs and the user I/O pins the package bonds out."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import HwgenError

TARGETS = ("ecp5", "ice40", "gowin", "xilinx", "asic")


@dataclass(frozen=True)
class Device:
    target: str
    name: str           # as the user writes it (--device)
    lut: int
    ff: int
    dsp: int
    bram: int
    io: int
    lut_kind: str = "LUT4"
    dsp_kind: str = ""
    #: nextpnr arguments that select the part (None: not placed here)
    pnr_args: tuple[str, ...] | None = None
    #: Yosys synthesis options the part needs (e.g. the Gowin family)
    synth_args: tuple[str, ...] = ()
    aliases: tuple[str, ...] = field(default=())
    #: pins for the synthesis wrapper's clk, rst_pin, din, in_valid, out_ready, in_ready,
    #: out_valid, dout, where nextpnr needs every I/O placed (Gowin); from amaranth-boards
    wrapper_pins: tuple[str, ...] = ()
    #: a clock-capable pin for the wrapper's clk where the others are left to nextpnr
    #: (ECP5: the board clock pin of a package in amaranth-boards). Left to nextpnr, the
    #: clock of the jet MLP at R = 4 landed on a pin with no route to the clock tree:
    #: "Failed to route arc 0.0 of net 'clk$TRELLIS_IO_IN'"
    clock_pin: str = ""

    @property
    def placed(self) -> bool:
        return self.pnr_args is not None


_ECP5 = "MULT18X18D"
DEVICES: tuple[Device, ...] = (
    Device("ecp5", "LFE5U-85F", 83_640, 83_640, 156, 208, 205, "LUT4", _ECP5,
           ("--85k", "--package", "CABGA381", "--speed", "6"), aliases=("85k", "lfe5u-85f-6bg381c"),
           clock_pin="G2"),   # CABGA381: PCLKT6_0, the ULX3S 25 MHz clock
    Device("ecp5", "LFE5U-45F", 43_848, 43_848, 72, 108, 203, "LUT4", _ECP5,
           ("--45k", "--package", "CABGA381", "--speed", "6"), aliases=("45k",), clock_pin="G2"),
    Device("ecp5", "LFE5U-25F", 24_288, 24_288, 28, 56, 197, "LUT4", _ECP5,
           ("--25k", "--package", "CABGA256", "--speed", "6"), aliases=("25k",),
           clock_pin="P6"),   # CABGA256: the Colorlight 5A-75B 25 MHz clock
    Device("ecp5", "LFE5U-12F", 12_096, 12_096, 28, 32, 197, "LUT4", _ECP5,
           ("--12k", "--package", "CABGA256", "--speed", "6"), aliases=("12k",), clock_pin="P6"),
    Device("ice40", "iCE40UP5K", 5_280, 5_280, 8, 30, 39, "LC", "SB_MAC16",
           ("--up5k", "--package", "sg48"), synth_args=("-device", "u"), aliases=("up5k",)),
    Device("ice40", "iCE40HX8K", 7_680, 7_680, 0, 32, 206, "LC", "",
           ("--hx8k", "--package", "ct256"), synth_args=("-device", "hx"), aliases=("hx8k",)),
    Device("ice40", "iCE40HX1K", 1_280, 1_280, 0, 16, 95, "LC", "",
           ("--hx1k", "--package", "tq144"), synth_args=("-device", "hx"), aliases=("hx1k",)),
    Device("gowin", "GW2A-LV18PG256C8/I7", 20_736, 15_552, 48, 46, 207, "LUT4", "MULT18X18",
           ("--device", "GW2A-LV18PG256C8/I7", "--vopt", "family=GW2A-18"),
           synth_args=("-family", "gw2a", "-noiopads"), aliases=("gw2a-18", "gw2a"),
           wrapper_pins=("H11", "N10", "R14", "D15", "E16", "D16", "E14", "M6")),  # Tang Primer 20K
    Device("gowin", "GW1NR-LV9QN88PC6/I5", 8_640, 6_480, 20, 26, 71, "LUT4", "MULT18X18",
           ("--device", "GW1NR-LV9QN88PC6/I5", "--vopt", "family=GW1N-9C"),
           synth_args=("-family", "gw1n", "-noiopads"), aliases=("gw1n-9", "gw1n-9c", "gw1nr-9"),
           wrapper_pins=("52", "35", "40", "34", "33", "75", "74", "73")),  # Tang Nano 9K
    Device("xilinx", "xc7a100t", 63_400, 126_800, 240, 135, 210, "LUT6", "DSP48E1",
           synth_args=("-family", "xc7"), aliases=("xc7a100tcsg324-1", "artix7-100t")),
    Device("xilinx", "xc7a35t", 20_800, 41_600, 90, 50, 210, "LUT6", "DSP48E1",
           synth_args=("-family", "xc7"), aliases=("xc7a35tcsg324-1", "artix7-35t")),
    Device("xilinx", "xczu3eg", 70_560, 141_120, 360, 216, 252, "LUT6", "DSP48E2",
           synth_args=("-family", "xcup"), aliases=("xczu3eg-sbva484-1-e",)),
    Device("asic", "generic", 0, 0, 0, 0, 0, "gate", ""),
)

#: the default part of each target
DEFAULT = {"ecp5": "LFE5U-85F", "ice40": "iCE40UP5K", "gowin": "GW2A-LV18PG256C8/I7",
           "xilinx": "xc7a100t", "asic": "generic"}


def device(target: str, name: str | None = None) -> Device:
    """The device ``name`` of ``target`` (its default part when ``name`` is None)."""
    if target not in TARGETS:
        raise HwgenError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    wanted = (name or DEFAULT[target]).lower()
    for d in DEVICES:
        if d.target == target and wanted in (d.name.lower(), *d.aliases):
            return d
    known = ", ".join(d.name for d in DEVICES if d.target == target)
    raise HwgenError(f"unknown {target} device {name!r}; known: {known}")
