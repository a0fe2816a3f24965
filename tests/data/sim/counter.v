// The counter of counter.hw in Verilog (tests/cli/sim.cmake).
module counter(input clk, input rst, input en, output reg [7:0] q);
  initial q = 8'd0;
  always @(posedge clk)
    if (rst) q <= 8'd0;
    else if (en) q <= q + 8'd1;
endmodule
