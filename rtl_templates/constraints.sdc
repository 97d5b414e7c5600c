# Timing constraints for the hwgen core ({{ clock_mhz }} MHz), written by hwgen synth --target asic.
create_clock -name clk -period {{ period }} [get_ports clk]
set_input_delay  [expr {{ period }} * 0.2] -clock clk [delete_from_list [all_inputs] [get_ports clk]]
set_output_delay [expr {{ period }} * 0.2] -clock clk [all_outputs]
set_load 0.02 [all_outputs]
