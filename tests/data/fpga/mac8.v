// A registered 8 x 8 multiply-accumulate with 34 I/O pins (fits the up5k's sg48 package):
// the multiplier maps to an SB_MAC16 with synth_ice40 -dsp.
module mac8 (
  input wire clk,
  input wire rst,
  input wire [7:0] a,
  input wire [7:0] b,
  output reg [15:0] acc
);
  always @(posedge clk) begin
    if (rst)
      acc <= 16'd0;
    else
      acc <= acc + a * b;
  end
endmodule
