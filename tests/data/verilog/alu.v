// Signed and unsigned arithmetic of mixed widths: the importer must extend operands the
// way Verilog does.
module alu (
  input wire [3:0] op,
  input wire signed [7:0] a,
  input wire signed [7:0] b,
  input wire [4:0] c,
  input wire [2:0] sh,
  output reg signed [11:0] y,
  output wire lt_signed,
  output wire lt_unsigned,
  output wire [7:0] mixed
);
  always @(*) begin
    case (op)
      4'd0: y = a + b;
      4'd1: y = a - b;
      4'd2: y = a * b;
      4'd3: y = (b == 0) ? 12'sd0 : a / b;
      4'd4: y = (b == 0) ? 12'sd0 : a % b;
      4'd5: y = a >>> sh;
      4'd6: y = a << sh;
      4'd7: y = $signed(c) + a;
      4'd8: y = c + a;
      4'd9: y = -a;
      4'd10: y = a & ~b;
      4'd11: y = {4'b0, a ^ b};
      4'd12: y = (a > b) ? a : b;
      4'd13: y = $unsigned(a) >> sh;
      default: y = 12'sd0;
    endcase
  end
  assign lt_signed = a < b;
  assign lt_unsigned = $unsigned(a) < $unsigned(b);
  assign mixed = (c * 3) - {3'b0, c};
endmodule
