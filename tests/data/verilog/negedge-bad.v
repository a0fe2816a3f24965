module negedge_bad (
  input wire clk,
  input wire [3:0] d,
  output reg [3:0] q
);
  initial q = 4'd0;
  always @(negedge clk)
    q <= d;
endmodule
