"""Text templates (Jinja2) for the files hwgen writes besides Amaranth's Verilog: the Yosys
emission script and its operand-extension map, the build folder's README, and the
plain-Verilog testbench. Installed as the package data ``hwgen.templates``."""
