# Clock constraint for the hwgen core ({{ clock_mhz }} MHz), written by hwgen synth.
create_clock -period {{ period }} -name clk [get_ports clk]
