// A 1400-stage shift register: 1400 flip-flops need at least 1400 logic cells, more than
// the 1280 of an ice40 hx1k, so `--device hx1k` must fail with design-too-large naming
// ICESTORM_LC.
module wide_bad (
  input wire clk,
  input wire d,
  output wire q
);
  reg [1399:0] r;
  always @(posedge clk)
    r <= {r[1398:0], d};
  assign q = r[1399];
endmodule
