// An 8-bit counter with synchronous reset, enable and load.
module counter (
  input wire clk,
  input wire rst,
  input wire en,
  input wire load,
  input wire [7:0] value,
  output reg [7:0] count,
  output wire wrapped
);
  initial count = 8'd3;
  always @(posedge clk) begin
    if (rst)
      count <= 8'd0;
    else if (load)
      count <= value;
    else if (en)
      count <= count + 8'd1;
  end
  assign wrapped = &count;
endmodule
