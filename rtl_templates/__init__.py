"""Text templates (Jinja2) for the files hwgen writes besides Amaranth's Verilog: the Yosys
emission script and its operand-extension map, the build folder's README, the
plain-Verilog testbench, the C++ Verilator testbench of ``hwgen sim --bulk`` (bulk_tb.cpp) and
the synthesis scripts and constraints. Installed as the package data ``hwgen.templates``."""
