// A 16 x 8 RAM with a registered read port, an asynchronous read port and a small
// initialized ROM.
module memory (
  input wire clk,
  input wire we,
  input wire [3:0] waddr,
  input wire [7:0] wdata,
  input wire [3:0] raddr,
  input wire [1:0] rom_addr,
  output reg [7:0] rdata,
  output wire [7:0] adata,
  output wire [7:0] rom_data
);
  reg [7:0] ram [0:15];
  reg [7:0] rom [0:3];
  integer i;
  initial begin
    for (i = 0; i < 16; i = i + 1)
      ram[i] = i * 3;
    rom[0] = 8'h12;
    rom[1] = 8'h34;
    rom[2] = 8'h56;
    rom[3] = 8'h78;
    rdata = 8'd0;
  end
  always @(posedge clk) begin
    if (we)
      ram[waddr] <= wdata;
    rdata <= ram[raddr];
  end
  assign adata = ram[raddr ^ 4'd5];
  assign rom_data = rom[rom_addr];
endmodule
