// A missing semicolon after line 7: Yosys reports it at line 8 (the next token).
module syntax_bad (
  input wire clk,
  output reg [3:0] q
);
  always @(posedge clk)
    q <= q + 4'd1
endmodule
