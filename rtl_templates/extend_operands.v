{#- A Yosys techmap: each cell whose operands are narrower than the width the operation is
    computed at is replaced by the same cell with explicitly extended operands (sign
    extension where Verilog would sign-extend, zeros elsewhere). _TECHMAP_FAIL_ leaves cells
    that are already width-matched (or have an empty operand) alone, so the map is a fixed
    point. Rendered by hwgen/hw/verilog.py. -#}
{%- macro extend(dst, src, width, signed, target) %}
  generate
    if ({{ width }} >= {{ target }}) assign {{ dst }} = {{ src }}[{{ target }}-1:0];
    else if ({{ signed }}) assign {{ dst }} = {{ '{{' }}({{ target }}-{{ width }}){ {{- src }}[{{ width }}-1]{{ '}}' }}, {{ src }}};
    else assign {{ dst }} = {{ '{{' }}({{ target }}-{{ width }}){1'b0}{{ '}' }}, {{ src }}};
  endgenerate
{%- endmacro %}
{%- macro binary_ports() %}
  parameter A_SIGNED = 0;
  parameter B_SIGNED = 0;
  parameter A_WIDTH = 1;
  parameter B_WIDTH = 1;
  parameter Y_WIDTH = 1;
  input [A_WIDTH-1:0] A;
  input [B_WIDTH-1:0] B;
  output [Y_WIDTH-1:0] Y;
{%- endmacro %}
{%- for cell in arithmetic %}

(* techmap_celltype = "${{ cell }}" *)
module _hwgen_extend_{{ cell }} (A, B, Y);
{{- binary_ports() }}
  // Verilog extends both operands to the result width, signed only if both are signed.
  localparam S = A_SIGNED && B_SIGNED;
  wire _TECHMAP_FAIL_ = (A_WIDTH == Y_WIDTH && B_WIDTH == Y_WIDTH) || A_WIDTH == 0 || B_WIDTH == 0;
  wire [Y_WIDTH-1:0] AX;
  wire [Y_WIDTH-1:0] BX;
{{- extend("AX", "A", "A_WIDTH", "S", "Y_WIDTH") }}
{{- extend("BX", "B", "B_WIDTH", "S", "Y_WIDTH") }}
  \${{ cell }} #(.A_SIGNED(A_SIGNED), .B_SIGNED(B_SIGNED), .A_WIDTH(Y_WIDTH), .B_WIDTH(Y_WIDTH), .Y_WIDTH(Y_WIDTH))
    _TECHMAP_REPLACE_ (.A(AX), .B(BX), .Y(Y));
endmodule
{%- endfor %}
{%- for cell in comparison %}

(* techmap_celltype = "${{ cell }}" *)
module _hwgen_extend_{{ cell }} (A, B, Y);
{{- binary_ports() }}
  // A comparison extends both operands to the wider of the two.
  localparam S = A_SIGNED && B_SIGNED;
  localparam W = A_WIDTH > B_WIDTH ? A_WIDTH : B_WIDTH;
  wire _TECHMAP_FAIL_ = A_WIDTH == B_WIDTH || A_WIDTH == 0 || B_WIDTH == 0;
  wire [W-1:0] AX;
  wire [W-1:0] BX;
{{- extend("AX", "A", "A_WIDTH", "S", "W") }}
{{- extend("BX", "B", "B_WIDTH", "S", "W") }}
  \${{ cell }} #(.A_SIGNED(A_SIGNED), .B_SIGNED(B_SIGNED), .A_WIDTH(W), .B_WIDTH(W), .Y_WIDTH(Y_WIDTH))
    _TECHMAP_REPLACE_ (.A(AX), .B(BX), .Y(Y));
endmodule
{%- endfor %}
{%- for cell in unary %}

(* techmap_celltype = "${{ cell }}" *)
module _hwgen_extend_{{ cell }} (A, Y);
  parameter A_SIGNED = 0;
  parameter A_WIDTH = 1;
  parameter Y_WIDTH = 1;
  input [A_WIDTH-1:0] A;
  output [Y_WIDTH-1:0] Y;
  wire _TECHMAP_FAIL_ = A_WIDTH == Y_WIDTH || A_WIDTH == 0;
  wire [Y_WIDTH-1:0] AX;
{{- extend("AX", "A", "A_WIDTH", "A_SIGNED", "Y_WIDTH") }}
  \${{ cell }} #(.A_SIGNED(A_SIGNED), .A_WIDTH(Y_WIDTH), .Y_WIDTH(Y_WIDTH))
    _TECHMAP_REPLACE_ (.A(AX), .Y(Y));
endmodule
{%- endfor %}
{%- for cell in shift %}

(* techmap_celltype = "${{ cell }}" *)
module _hwgen_extend_{{ cell }} (A, B, Y);
{{- binary_ports() }}
  // The shifted operand is extended to the result width first (the amount is not).
  wire _TECHMAP_FAIL_ = A_WIDTH >= Y_WIDTH || A_WIDTH == 0;
  wire [Y_WIDTH-1:0] AX;
{{- extend("AX", "A", "A_WIDTH", "A_SIGNED", "Y_WIDTH") }}
  \${{ cell }} #(.A_SIGNED(A_SIGNED), .B_SIGNED(B_SIGNED), .A_WIDTH(Y_WIDTH), .B_WIDTH(B_WIDTH), .Y_WIDTH(Y_WIDTH))
    _TECHMAP_REPLACE_ (.A(AX), .B(B), .Y(Y));
endmodule
{%- endfor %}
