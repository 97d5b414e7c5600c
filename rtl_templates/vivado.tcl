# Vivado non-project flow for {{ top }} on {{ part }}, written by hwgen synth --target xilinx.
# hwgen does not run Vivado; run this yourself from this folder:
#   vivado -mode batch -source vivado.tcl
# It synthesizes out of context (the core's ports are not pins), places and routes, and
# writes utilization and timing reports next to this file.
{% for f in files %}read_verilog {{ f }}
{% endfor %}read_xdc -mode out_of_context constraints.xdc
synth_design -top {{ top }} -part {{ part }} -mode out_of_context
report_utilization -hierarchical -file vivado_utilization_synth.rpt
opt_design
place_design
route_design
report_utilization -hierarchical -file vivado_utilization.rpt
report_timing_summary -file vivado_timing.rpt
