// A sequence detector (1011) as a Moore machine with an asynchronous reset.
module fsm (
  input wire clk,
  input wire rst,
  input wire in,
  output wire found,
  output wire [2:0] state_out
);
  localparam S0 = 3'd0, S1 = 3'd1, S10 = 3'd2, S101 = 3'd3, S1011 = 3'd4;
  reg [2:0] state, next;
  initial state = S0;
  always @(*) begin
    case (state)
      S0: next = in ? S1 : S0;
      S1: next = in ? S1 : S10;
      S10: next = in ? S101 : S0;
      S101: next = in ? S1011 : S10;
      S1011: next = in ? S1 : S10;
      default: next = S0;
    endcase
  end
  always @(posedge clk or posedge rst)
    if (rst)
      state <= S0;
    else
      state <= next;
  assign found = state == S1011;
  assign state_out = state;
endmodule
