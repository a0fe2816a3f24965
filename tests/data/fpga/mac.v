// A registered 16 x 16 multiply-accumulate: the multiplier should map to a DSP48E1 on
// xilinx (and to an SB_MAC16 on ice40 up5k).
module mac (
  input wire clk,
  input wire rst,
  input wire [15:0] a,
  input wire [15:0] b,
  output reg [31:0] acc
);
  always @(posedge clk) begin
    if (rst)
      acc <= 32'd0;
    else
      acc <= acc + a * b;
  end
endmodule
