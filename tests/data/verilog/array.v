// A chain of multiply-accumulate cells built with a generate loop.
module mac #(parameter W = 8) (
  input wire clk,
  input wire rst,
  input wire [W-1:0] a,
  input wire [W-1:0] w,
  output reg [W-1:0] a_out,
  output reg [2*W-1:0] acc
);
  initial begin
    a_out = 0;
    acc = 0;
  end
  always @(posedge clk) begin
    a_out <= a;
    if (rst)
      acc <= 0;
    else
      acc <= acc + a * w;
  end
endmodule

module array (
  input wire clk,
  input wire rst,
  input wire [7:0] a,
  input wire [31:0] weights,
  output wire [63:0] sums
);
  wire [7:0] chain [0:4];
  assign chain[0] = a;
  genvar i;
  generate
    for (i = 0; i < 4; i = i + 1) begin : stage
      mac #(.W(8)) u (
        .clk(clk),
        .rst(rst),
        .a(chain[i]),
        .w(weights[i*8 +: 8]),
        .a_out(chain[i+1]),
        .acc(sums[i*16 +: 16])
      );
    end
  endgenerate
endmodule
