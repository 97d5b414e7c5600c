"""Text templates (Jinja2) for the files hwgen writes besides Amaranth's Verilog: the Yosys
emission script and its operand-extension map, the build folder's README, the
plain-Verilog testbench, the C++ Verilator testbench of ``hwgen sim --bulk`` (bulk_tb.cpp) and
the synthesis scripts and constraints. Installed as the package data ``hwgen.templates``."""
from __future__ import annotations

from importlib import resources


def text(name: str) -> str:
    """The template file ``name`` as written."""
    return resources.files(__name__).joinpath(name).read_text()


def render(template: str, /, **values) -> str:
    """The file ``template`` rendered with ``values``; a value the template names but the
    caller did not pass is an error, not an empty string."""
    import jinja2
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(text(template)).render(**values)
