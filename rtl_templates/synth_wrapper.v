// Pin wrapper for core synthesis reports (written by hwgen synth; not part of the build).
// The core's {{ in_width }}-bit input and {{ out_width }}-bit output become a few pins: the
// input word fills from one serial pin, a taken output word loads a shift register that
// drains through one pin. Every pin is registered, so the core's own paths set Fmax, and no
// output bit can be optimized away. Its cells are reported apart from the core's.
module hwgen_synth_wrapper (
    input  wire clk,
    input  wire rst_pin,
    input  wire din,
    input  wire in_valid,
    input  wire out_ready,
    output reg  in_ready,
    output reg  out_valid,
    output wire dout
);
    reg rst, din_q, in_valid_q, out_ready_q;
    reg [{{ in_width - 1 }}:0] in_word;
    reg [{{ out_width - 1 }}:0] out_word;
    wire s_ready, m_valid;
    wire [{{ out_width - 1 }}:0] m_data;
    always @(posedge clk) begin
        rst <= rst_pin;
        din_q <= din;
        in_valid_q <= in_valid;
        out_ready_q <= out_ready;
        in_ready <= s_ready;
        out_valid <= m_valid;
        in_word <= {{ '{' }}in_word[{{ in_width - 2 if in_width > 1 else 0 }}:0], din_q{{ '}' }}{% if in_width == 1 %}[0]{% endif %};
        if (m_valid && out_ready_q) out_word <= m_data;
        else out_word <= out_word >> 1;
    end
    assign dout = out_word[0];
    {{ top }} core (
        .clk(clk), .rst(rst),
        .s_axis_tdata(in_word), .s_axis_tvalid(in_valid_q), .s_axis_tready(s_ready),
        .m_axis_tdata(m_data), .m_axis_tvalid(m_valid), .m_axis_tready(out_ready_q)
    );
endmodule
