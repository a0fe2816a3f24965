// A 1024 x 16 synchronous single-port RAM (16 kbit): block RAM on both targets.
module ram (
  input wire clk,
  input wire we,
  input wire [9:0] addr,
  input wire [15:0] wdata,
  output reg [15:0] rdata
);
  reg [15:0] mem [0:1023];
  always @(posedge clk) begin
    if (we)
      mem[addr] <= wdata;
    rdata <= mem[addr];
  end
endmodule
