// Part-selects with variable indices (Yosys $shiftx / $shift cells) and a write to a
// variable bit of a register.
module partsel (
  input wire clk,
  input wire [31:0] data,
  input wire [2:0] idx,
  input wire [4:0] bit_idx,
  input wire signed [3:0] soff,
  input wire b,
  output wire [3:0] nibble,
  output wire one_bit,
  output wire [7:0] byte_sel,
  output wire [3:0] signed_sel,
  output reg [15:0] bits
);
  initial bits = 16'd0;
  assign nibble = data[idx*4 +: 4];
  assign one_bit = data[bit_idx];
  assign byte_sel = data[idx +: 8];
  assign signed_sel = data[soff + 8 +: 4];
  always @(posedge clk)
    bits[bit_idx[3:0]] <= b;
endmodule
