"""Boards ``hwgen bitstream`` and ``hwgen selftest`` know: the amaranth-boards platform,
the device it carries (for the fit check and the synthesis target) and its LEDs and UART.

Installed as ``hwgen.boards``. To add a board, add a :class:`Board` whose platform class has
``led`` resources and a ``uart`` resource with a ``tx`` pin."""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from hwgen.errors import HwgenError


@dataclass(frozen=True)
class Board:
    name: str
    platform: str          # "module:Class" in amaranth-boards
    target: str            # hwgen synth target
    device: str            # hwgen device name (hwgen.chip.devices)
    leds: tuple[str, ...]  # LED resources in order: PASS, FAIL, running, progress...
    bitstream: str         # file the platform build produces
    description: str

    def platform_class(self):
        module, cls = self.platform.split(":")
        try:
            return getattr(importlib.import_module(module), cls)
        except ImportError:
            raise HwgenError(f"board {self.name} needs amaranth-boards (pip install amaranth-boards, "
                             "a dependency of hwgen)") from None


BOARDS = {b.name: b for b in (
    Board("ulx3s", "amaranth_boards.ulx3s:ULX3S_85F_Platform", "ecp5", "LFE5U-85F",
          tuple(f"led:{i}" for i in range(8)), "bit",
          "Radiona ULX3S with LFE5U-85F (25 MHz clock, 8 LEDs, UART over the FTDI USB port)"),
    Board("ulx3s-45f", "amaranth_boards.ulx3s:ULX3S_45F_Platform", "ecp5", "LFE5U-45F",
          tuple(f"led:{i}" for i in range(8)), "bit", "Radiona ULX3S with LFE5U-45F"),
    Board("ulx3s-25f", "amaranth_boards.ulx3s:ULX3S_25F_Platform", "ecp5", "LFE5U-25F",
          tuple(f"led:{i}" for i in range(8)), "bit", "Radiona ULX3S with LFE5U-25F"),
    Board("icebreaker", "amaranth_boards.icebreaker:ICEBreakerPlatform", "ice40", "iCE40UP5K",
          ("led_g:0", "led_r:0"), "bin",
          "1BitSquared iCEBreaker with iCE40UP5K (12 MHz clock, UART over the FTDI USB port): "
          "green LED = PASS, red LED = FAIL"),
)}


def board(name: str) -> Board:
    try:
        return BOARDS[name]
    except KeyError:
        raise HwgenError(f"unknown board {name!r}; known: {', '.join(sorted(BOARDS))}") from None
