// hwgen: $alu -> CCU2C for nextpnr-ecp5, with no feed-in carry cell per chain.
//
// Used by `hwgen synth --target ecp5` between synth_ecp5's `begin:map_gates` and
// `map_gates:` steps, in place of Yosys's own lattice/arith_map_ccu2c.v.
//
// Yosys's map ties the first CCU2C's CIN to the adder's carry in (a constant for almost
// every adder). nextpnr-ecp5 cannot route a constant or a fabric net into a chain's CIN, so
// it adds a "feed-in" CCU2C in front of every chain. Here the chain's first half does that
// job itself: its LUT4 is 0 (so it never propagates CIN) and its LUT2 generates the carry
// into bit 1, or into bit 0 (see LOW below), the very configuration of nextpnr's feed-in.
// The chain's CIN is left unconnected (hwgen cuts the constant synth_ecp5 ties it to), and
// no feed-in is added: a chain of odd width takes one CCU2C less than before, one of even
// width half a CCU2C less (its bit 0 becomes a LUT4). Yosys's own count now includes the
// generating half. On the multiplier-free jet MLP: 69,792 placed logic slots with the
// feed-ins, 64,986 without (before the even-width variant).
//
// Carry outs: a bit whose half ends a CCU2C reads the cell's COUT; the others, and the last
// cell's (which nextpnr could only bring out through a feed-out cell), are rebuilt in LUT
// logic when something reads them (comparisons do). tests/test_chip.py proves this map
// equal to Yosys's $alu semantics with a SAT miter over the ECP5 cell models.

(* techmap_celltype = "$alu" *)
module _70_hwgen_ccu2c_alu (A, B, CI, BI, X, Y, CO);
	parameter A_SIGNED = 0;
	parameter B_SIGNED = 0;
	parameter A_WIDTH = 1;
	parameter B_WIDTH = 1;
	parameter Y_WIDTH = 1;
	parameter _TECHMAP_CONSTMSK_CI_ = 0;
	parameter _TECHMAP_CONSTVAL_CI_ = 0;
	parameter _TECHMAP_CONSTMSK_BI_ = 0;
	parameter _TECHMAP_CONSTVAL_BI_ = 0;

	(* force_downto *) input [A_WIDTH-1:0] A;
	(* force_downto *) input [B_WIDTH-1:0] B;
	(* force_downto *) output [Y_WIDTH-1:0] X, Y;
	input CI, BI;
	(* force_downto *) output [Y_WIDTH-1:0] CO;

	// as in Yosys's own map: adders of up to 4 bits go to LUTs
	wire _TECHMAP_FAIL_ = Y_WIDTH <= 4;

	(* force_downto *) wire [Y_WIDTH-1:0] A_buf, B_buf;
	\$pos #(.A_SIGNED(A_SIGNED), .A_WIDTH(A_WIDTH), .Y_WIDTH(Y_WIDTH)) A_conv (.A(A), .Y(A_buf));
	\$pos #(.A_SIGNED(B_SIGNED), .A_WIDTH(B_WIDTH), .Y_WIDTH(Y_WIDTH)) B_conv (.A(B), .Y(B_buf));

	// LOW = 1: an even width with constant CI and BI (nearly every adder). Bit 0's sum is
	// then a LUT, and the first half generates bit 0's carry out from A[0] and B[0] (its
	// LUT2 is that carry's truth table), so the chain holds Y_WIDTH halves, a whole number
	// of cells. LOW = 0: the first half generates CI, bit i sits in half i + 1.
	localparam CONST_CB = _TECHMAP_CONSTMSK_CI_ == 1 && _TECHMAP_CONSTMSK_BI_ == 1;
	localparam LOW = Y_WIDTH % 2 == 0 && CONST_CB;
	localparam CELLS = (Y_WIDTH + 2 - LOW) / 2;   // Y_WIDTH + 1 - LOW halves, two per CCU2C
	localparam HALVES = 2 * CELLS;

	(* force_downto *) wire [Y_WIDTH-1:0] BB = BI ? ~B_buf : B_buf;
	(* force_downto *) wire [HALVES-1:0] HA, HB, HS;
	(* force_downto *) wire [CELLS-1:0] FCO;
	(* force_downto *) wire [Y_WIDTH:0] CC = {CO, CI};   // CC[i]: the carry into bit i

	// LUT4 = A ^ B ^ C (D = 1), LUT2 = A: a full adder bit, B inverted when C is set
	localparam [15:0] ADD = 16'b1001011010101010;
	// the first half: LUT4 = 0 when C = D = 1 (it never propagates CIN); LUT2 = A (generates
	// CI), or with LOW the carry out of A[0] + (B[0] ^ BI) + CI, indexed A + 2 B
	function [3:0] carry0;
		input bi, ci;
		integer a, b;
		begin
			for (b = 0; b < 2; b = b + 1)
				for (a = 0; a < 2; a = a + 1)
					carry0[a + 2 * b] = (a & (b ^ bi)) | (ci & (a | (b ^ bi)));
		end
	endfunction
	localparam [15:0] GEN = LOW ? {12'h000, carry0(_TECHMAP_CONSTVAL_BI_, _TECHMAP_CONSTVAL_CI_)} : 16'h000A;

	genvar k, i;
	generate
		// inputs of every half (B inverted through C = BI); a spare last half adds zeros
		if (LOW) begin:low
			assign HA = A_buf;
			assign HB = B_buf;
		end else begin:ci
			assign HA = {A_buf, CI};
			assign HB = {B_buf, 1'b1};
		end
		for (k = 0; k < CELLS; k = k + 1) begin:slice
			if (k == 0) begin:first
				// CIN left unconnected: half 0 never propagates it
				CCU2C #(.INIT0(GEN), .INIT1(ADD), .INJECT1_0("NO"), .INJECT1_1("NO")) ccu2c_i (
					.CIN(),
					.A0(HA[0]), .B0(HB[0]), .C0(1'b1), .D0(1'b1),
					.A1(HA[1]), .B1(HB[1]), .C1(BI), .D1(1'b1),
					.S0(HS[0]), .S1(HS[1]), .COUT(FCO[0]));
			end else begin:next
				CCU2C #(.INIT0(ADD), .INIT1(ADD), .INJECT1_0("NO"), .INJECT1_1("NO")) ccu2c_i (
					.CIN(FCO[k-1]),
					.A0(HA[2*k]), .B0(HB[2*k]), .C0(BI), .D0(1'b1),
					.A1(HA[2*k+1]), .B1(HB[2*k+1]), .C1(BI), .D1(1'b1),
					.S0(HS[2*k]), .S1(HS[2*k+1]), .COUT(FCO[k]));
			end
		end
		for (i = 0; i < Y_WIDTH; i = i + 1) begin:bit
			// bit i is in half i + 1 - LOW (LOW: bit 0 in a LUT)
			if (LOW && i == 0) begin:lut
				// a LUT4 cell of its own: ABC9, given this XOR as logic, merged many such bits
				// into one net (a multiply driven kept wire in the jet MLP's stages)
				LUT4 #(.INIT(16'h6996)) sum0_i (.A(A_buf[0]), .B(B_buf[0]), .C(BI), .D(CI), .Z(Y[0]));
			end else begin:chain
				assign Y[i] = HS[i + 1 - LOW];
			end
			// an odd half ends a cell, whose COUT it can use (the last cell's excepted)
			if ((i + 1 - LOW) % 2 == 1 && (i + 1 - LOW) / 2 < CELLS - 1)
				assign CO[i] = FCO[(i + 1 - LOW) / 2];
			else
				assign CO[i] = (A_buf[i] && BB[i]) || (CC[i] && (A_buf[i] || BB[i]));
		end
	endgenerate

	assign X = A_buf ^ BB;
endmodule
