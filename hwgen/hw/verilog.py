"""Verilog an HDL engineer can read and lint: one module per file, plain identifiers.

Amaranth elaborates the design to RTLIL; this module renames every identifier that is not a
plain Verilog identifier (Amaranth's hierarchical module names ``top.stage0``, names like
``i__payload$18`` and ``$signal``), has Yosys write Verilog with the script
``rtl_templates/emit_verilog.ys`` (through :mod:`hwgen.tools`), and splits the result into
one file per module, listed leaves first in ``files.f``."""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import tools
from .. import templates

#: Verilog-2005 and SystemVerilog keywords: never a module, port or signal name
KEYWORDS = frozenset("""
accept_on alias always always_comb always_ff always_latch and assert assign assume automatic
before begin bind bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle
checker class clocking cmos config const constraint context continue cover covergroup
coverpoint cross deassign default defparam design disable dist do edge else end endcase
endchecker endclass endclocking endconfig endfunction endgenerate endgroup endinterface
endmodule endpackage endprimitive endprogram endproperty endspecify endsequence endtable
endtask enum event eventually expect export extends extern final first_match for force
foreach forever fork forkjoin function generate genvar global highz0 highz1 if iff ifnone
ignore_bins illegal_bins implements implies import incdir include initial inout input inside
instance int integer interconnect interface intersect join join_any join_none large let
liblist library local localparam logic longint macromodule matches medium modport module
nand negedge nettype new nexttime nmos nor noshowcancelled not notif0 notif1 null or output
package packed parameter pmos posedge primitive priority program property protected pull0
pull1 pulldown pullup pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase
randsequence rcmos real realtime ref reg reject_on release repeat restrict return rnmos
rpmos rtran rtranif0 rtranif1 s_always s_eventually s_nexttime s_until s_until_with scalared
sequence shortint shortreal showcancelled signed small soft solve specify specparam static
string strong strong0 strong1 struct super supply0 supply1 sync_accept_on sync_reject_on
table tagged task this throughout time timeprecision timeunit tran tranif0 tranif1 tri tri0
tri1 triand trior trireg type typedef union unique unique0 unsigned until until_with untyped
use uwire var vectored virtual void wait wait_order wand weak weak0 weak1 while wildcard wire
with within wor xnor xor
""".split())

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# An RTLIL public identifier (\name, up to white space), or a quoted string to skip.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\\(\S+)')
_MODULE = re.compile(r"^module (\S+)\(", re.M)


def plain_identifier(name: str) -> bool:
    """True for a name usable as is in Verilog and SystemVerilog (not escaped, not a keyword)."""
    return bool(_PLAIN.match(name)) and name not in KEYWORDS


def plain_names(rtlil_text: str) -> str:
    """Rename every public RTLIL identifier that is not a plain Verilog identifier.

    Characters other than letters, digits and ``_`` become ``_`` (so ``top.stage0`` becomes
    ``top_stage0`` and ``i__payload$18`` becomes ``i__payload_18``); a clash with another
    name gets a numeric suffix. The map is one for the whole design, so a module's name and
    every instantiation of it change together. Internal ``$`` names are left to Yosys, which
    writes them as ``_0001_``."""
    names: dict[str, str] = {}
    used: set[str] = set()
    found = [m.group(1) for m in _TOKEN.finditer(rtlil_text) if m.group(1) is not None]
    for name in found:
        if plain_identifier(name):
            used.add(name)
    for name in found:
        if name in names or plain_identifier(name):
            continue
        base = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "n"
        if base[0].isdigit():
            base = "n_" + base
        candidate, k = base, 1
        while candidate in used or candidate in KEYWORDS:
            k += 1
            candidate = f"{base}_{k}"
        used.add(candidate)
        names[name] = candidate
    if not names:
        return rtlil_text

    def swap(m):
        return m.group(0) if m.group(1) is None else "\\" + names.get(m.group(1), m.group(1))
    return _TOKEN.sub(swap, rtlil_text)


@dataclass(frozen=True)
class VerilogModule:
    name: str
    text: str
    depends_on: tuple[str, ...]


def split_modules(verilog_text: str) -> list[VerilogModule]:
    """Yosys's output as one entry per module, in dependency order (instantiated modules
    first; ties by name, so the order is deterministic)."""
    starts = [m.start() for m in _MODULE.finditer(verilog_text)]
    chunks = {}
    for begin, end in zip(starts, starts[1:] + [len(verilog_text)]):
        chunk = verilog_text[begin:end]
        chunk = chunk[:chunk.rindex("endmodule") + len("endmodule")] + "\n"
        chunks[_MODULE.match(chunk).group(1)] = chunk
    deps = {name: tuple(sorted(other for other in chunks if other != name and
                               re.search(rf"^\s+{re.escape(other)} \S+ \(", text, re.M)))
            for name, text in chunks.items()}
    order, done = [], set()

    def visit(name, stack=()):
        if name in done:
            return
        if name in stack:
            raise RuntimeError(f"module {name} instantiates itself")
        for dep in deps[name]:
            visit(dep, stack + (name,))
        done.add(name)
        order.append(VerilogModule(name, chunks[name], deps[name]))
    for name in sorted(chunks):
        visit(name)
    return order


def operand_extension_map() -> str:
    return templates.render(
        "extend_operands.v",
        arithmetic=["add", "sub", "mul", "and", "or", "xor", "xnor"],
        comparison=["lt", "le", "eq", "ne", "ge", "gt"],
        unary=["neg", "not", "pos"],
        shift=["shl", "sshl", "shr", "sshr"])


def to_verilog(rtlil_text: str, log: Path, progress=None) -> str:
    """Run Yosys's Verilog writer on ``rtlil_text`` (names already plain); ``log`` gets
    Yosys's output. Raises :class:`hwgen.tools.ToolError` on failure."""
    with tempfile.TemporaryDirectory(prefix="hwgen-yosys-") as scratch:
        # YoWASP's /tmp is a private folder of its own: relative paths from the scratch folder.
        work = Path(scratch)
        (work / "design.il").write_text(rtlil_text)
        (work / "extend_operands.v").write_text(operand_extension_map())
        (work / "emit_verilog.ys").write_text(templates.text("emit_verilog.ys"))
        tools.run(tools.yosys(), ["-s", "emit_verilog.ys"], cwd=work, log=log, progress=progress)
        return (work / "design.v").read_text()
