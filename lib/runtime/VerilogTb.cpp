//===- VerilogTb.cpp - the tile's emitted Verilog in Verilator / Icarus ---------===//
//
// See Cosim.h (runTileExternal). The testbench is Verilog written here: a behavioural
// AXI4 slave over a DRAM array (the same protocol as AxiMemory), a sequence that clears
// the local memories through the debug ports, loads the program, starts the tile, waits
// for done or a fault, and dumps the state and DRAM as hex files, which are read back into
// a TileRun. Nothing is shared with Tessera's simulator but the emitted Verilog.
//
//===----------------------------------------------------------------------===//
#include "runtime/Cosim.h"

#include "support/FileIO.h"
#include "support/Process.h"
#include "verilog/Verilog.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tessera::runtime {

namespace {

std::string testbench(const accel::TileConfig &cfg, const accel::rtl::GenParams &gp,
                      size_t dramBytes, uint64_t maxCycles) {
  std::ostringstream o;
  const unsigned bus = gp.busBytes;
  o << "// Testbench of the Tessera tile, written by runtime::runTileExternal.\n"
    << "`timescale 1ns/1ps\n"
    << "module tessera_tb;\n"
    << "  localparam integer DRAM = " << dramBytes << ", BUS = " << bus
    << ", IMEM = " << gp.imemDepth << ", LAT = 4;\n"
    << "  reg clk = 0, rst = 1, go = 0, imem_we = 0;\n"
    << "  reg [31:0] imem_addr = 0, prog_len = 0;\n"
    << "  reg [127:0] imem_wdata = 0;\n"
    << "  reg [7:0] dram [0:DRAM-1];\n"
    << "  reg [127:0] prog [0:IMEM-1];\n"
    << "  integer plen;\n";
  for (const char *m : {"spad", "scale", "meta", "acc"}) {
    bool acc = std::string(m) == "acc";
    unsigned line = acc ? 1 : gp.line(m);
    unsigned w = acc ? 32 : 8 * line;
    o << "  reg dbg_" << m << "_wr_en = 0;\n  reg [31:0] dbg_" << m << "_wr_addr = 0, dbg_" << m
      << "_addr = 0;\n  reg [" << w - 1 << ":0] dbg_" << m << "_wr_data = 0;\n  wire [" << w - 1
      << ":0] dbg_" << m << "_data;\n";
    if (!acc)
      o << "  reg [" << line - 1 << ":0] dbg_" << m << "_wr_mask = 0;\n";
  }
  o << "  wire done, busy, fault;\n  wire [7:0] fault_code;\n"
    << "  wire [31:0] fault_addr, fault_pc, pc, trace_pc_load, trace_pc_compute, trace_pc_store;\n"
    << "  wire [3:0] trace_start, trace_done;\n  wire [31:0] amax, flags;\n  wire [15:0] lfsr;\n"
    << "  wire m_arvalid, m_rready, m_awvalid, m_wvalid, m_wlast, m_bready;\n"
    << "  wire [31:0] m_araddr, m_awaddr;\n  wire [7:0] m_arlen, m_awlen;\n"
    << "  wire [" << 8 * bus - 1 << ":0] m_wdata;\n  wire [" << bus - 1 << ":0] m_wstrb;\n"
    << "  reg [" << 8 * bus - 1 << ":0] m_rdata;\n"
    << "  wire m_arready, m_rvalid, m_rlast, m_awready, m_wready, m_bvalid;\n"
    << "  wire [1:0] m_rresp, m_bresp;\n";
  o << "  tessera_tile dut (.*);\n";
  // AXI read slave.
  o << R"(
  reg r_active = 0; reg [31:0] r_addr = 0; reg [8:0] r_left = 0; reg [3:0] r_wait = 0;
  assign m_arready = !r_active;
  assign m_rvalid = r_active && r_wait == 0;
  assign m_rlast = m_rvalid && r_left == 1;
  wire r_bad = r_addr > DRAM - BUS;
  assign m_rresp = (m_rvalid && r_bad) ? 2'd2 : 2'd0;
  integer ri;
  always @* begin
    for (ri = 0; ri < BUS; ri = ri + 1)
      m_rdata[8*ri +: 8] = (m_rvalid && !r_bad) ? dram[r_addr + ri] : 8'd0;
  end
  always @(posedge clk) begin
    if (rst) r_active <= 0;
    else if (!r_active && m_arvalid) begin
      r_active <= 1; r_addr <= m_araddr & ~(BUS - 1); r_left <= m_arlen + 9'd1; r_wait <= LAT;
    end else if (m_rvalid && m_rready) begin
      r_addr <= r_addr + BUS; r_left <= r_left - 1'b1;
      if (r_left == 1) r_active <= 0;
    end else if (r_active && r_wait != 0) r_wait <= r_wait - 1'b1;
  end
  reg w_active = 0, b_pending = 0; reg [31:0] w_addr = 0; reg [1:0] b_resp = 0;
  assign m_awready = !w_active && !b_pending;
  assign m_wready = w_active;
  assign m_bvalid = b_pending;
  assign m_bresp = b_pending ? b_resp : 2'd0;
  integer wi;
  always @(posedge clk) begin
    if (rst) begin w_active <= 0; b_pending <= 0; end
    else if (b_pending) begin if (m_bready) b_pending <= 0; end
    else if (!w_active) begin
      if (m_awvalid) begin w_active <= 1; w_addr <= m_awaddr & ~(BUS - 1); b_resp <= 0; end
    end else if (m_wvalid) begin
      for (wi = 0; wi < BUS; wi = wi + 1)
        if (m_wstrb[wi]) begin
          if (w_addr + wi < DRAM) dram[w_addr + wi] <= m_wdata[8*wi +: 8];
          else b_resp <= 2'd2;
        end
      w_addr <= w_addr + BUS;
      if (m_wlast) begin w_active <= 0; b_pending <= 1; end
    end
  end
  always #5 clk = ~clk;
  integer i, j, f, cycles;
  initial begin
    if (!$value$plusargs("prog_len=%d", plen)) plen = 0;
    prog_len = plen;
    $readmemh("prog.hex", prog, 0, plen - 1);
    $readmemh("dram.hex", dram);
    repeat (2) @(posedge clk);
    #1 rst = 0;
)";
  // Clear the local memories (the golden model starts from zeros; Verilog memories start
  // as X in some simulators).
  struct Mem {
    const char *name;
    uint64_t size;
  } mems[] = {{"spad", cfg.spadBytes}, {"scale", cfg.scaleBytes}, {"meta", cfg.metaBytes},
              {"acc", cfg.accWords()}};
  for (const Mem &m : mems) {
    bool acc = std::string(m.name) == "acc";
    unsigned line = acc ? 1 : gp.line(m.name);
    o << "    dbg_" << m.name << "_wr_en = 1; dbg_" << m.name << "_wr_data = 0;\n";
    if (!acc)
      o << "    dbg_" << m.name << "_wr_mask = {" << line << "{1'b1}};\n";
    o << "    for (i = 0; i < " << m.size << "; i = i + " << line << ") begin dbg_" << m.name
      << "_wr_addr = i; @(posedge clk); #1; end\n    dbg_" << m.name << "_wr_en = 0;\n";
  }
  o << R"(    for (i = 0; i < plen; i = i + 1) begin
      imem_we = 1; imem_addr = i; imem_wdata = prog[i]; @(posedge clk); #1;
    end
    imem_we = 0; go = 1; @(posedge clk); #1 go = 0;
    cycles = 0;
    while (!(done && !r_active && !w_active && !b_pending) && !fault && cycles < )"
    << maxCycles << R"() begin
      @(posedge clk); #1 cycles = cycles + 1;
    end
    f = $fopen("state.txt", "w");
    $fwrite(f, "%0d %0d %0d %0d %0d %0d\n", cycles, done, fault, fault_code, fault_pc, fault_addr);
    $fwrite(f, "%h %h %h\n", amax, flags, lfsr);
)";
  // Debug reads are synchronous: the data of the address set before a clock edge.
  for (const Mem &m : mems) {
    bool acc = std::string(m.name) == "acc";
    unsigned line = acc ? 1 : gp.line(m.name);
    o << "    for (i = 0; i < " << m.size << "; i = i + " << line << ") begin\n      dbg_"
      << m.name << "_addr = i; @(posedge clk); #1;\n";
    if (acc)
      o << "      $fwrite(f, \"%h\\n\", dbg_acc_data);\n";
    else
      o << "      for (j = 0; j < " << line << " && i + j < " << m.size
        << "; j = j + 1) $fwrite(f, \"%h\\n\", dbg_" << m.name << "_data[8*j +: 8]);\n";
    o << "    end\n";
  }
  o << "    $fclose(f);\n    $writememh(\"dram_out.hex\", dram);\n    $finish;\n  end\nendmodule\n";
  return o.str();
}

std::string hexWord(const accel::Word &w) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)w.hi,
                (unsigned long long)w.lo);
  return buf;
}

} // namespace

Expected<TileRun> runTileExternal(const accel::TileConfig &cfg, const accel::rtl::GenParams &gp,
                                  std::span<const accel::Instruction> program,
                                  std::vector<uint8_t> &dram, const ExternalOptions &opts) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(opts.workDir, ec);
  auto path = [&](const char *f) { return (fs::path(opts.workDir) / f).string(); };
  // The tile's Verilog is the same for every program: written (and for Verilator
  // compiled) once per work directory.
  std::string exe = opts.tool == ExternalTool::Verilator ? path("obj_dir/Vtessera_tb")
                                                         : path("tb.vvp");
  TRY(writeTextFile(path("tb.v"), testbench(cfg, gp, dram.size(), opts.maxCycles)));
  {
    std::ostringstream p, d;
    for (const accel::Instruction &ins : program)
      p << hexWord(accel::encode(ins)) << "\n";
    char buf[4];
    for (uint8_t b : dram) {
      std::snprintf(buf, sizeof buf, "%02x", b);
      d << buf << "\n";
    }
    TRY(writeTextFile(path("prog.hex"), p.str()));
    TRY(writeTextFile(path("dram.hex"), d.str()));
  }
  // The tile's Verilog (rewritten, and the model rebuilt, only when it changes).
  bool changed = false;
  {
    TRY_ASSIGN(hw::Design design, accel::rtl::buildTile(cfg, gp));
    TRY_ASSIGN(std::string v, verilog::emitVerilog(design));
    auto old = readTextFile(path("tessera_tile.v"));
    if (!old.ok() || *old != v) {
      TRY(writeTextFile(path("tessera_tile.v"), v));
      changed = true;
    }
  }
  // The testbench bakes in the DRAM size: rebuild when it changes.
  std::string key = std::to_string(dram.size()) + " " + std::to_string(opts.maxCycles);
  auto oldKey = readTextFile(path("tb.key"));
  bool rebuild = changed || !fs::exists(exe) || !oldKey.ok() || *oldKey != key;
  if (rebuild) {
    std::vector<std::string> argv;
    if (opts.tool == ExternalTool::Verilator)
      argv = {opts.verilator, "--binary", "-j", "2", "-Wno-fatal", "-Wno-lint", "-Wno-style",
              "-Wno-TIMESCALEMOD", "--top-module", "tessera_tb", "-O2", "tb.v", "tessera_tile.v"};
    else
      argv = {opts.iverilog, "-g2012", "-o", "tb.vvp", "-s", "tessera_tb", "tb.v", "tessera_tile.v"};
    TRY_ASSIGN(ProcessResult pr, runProcess(argv, opts.workDir, path("build"), opts.timeoutSeconds));
    if (pr.exitCode != 0 || pr.timedOut)
      return Diagnostic::error("external-sim-failed",
                               std::string(opts.tool == ExternalTool::Verilator ? "verilator"
                                                                                : "iverilog") +
                                   " failed to build the testbench (" + path("build.err") +
                                   "): " + pr.err.substr(0, 2000));
    TRY(writeTextFile(path("tb.key"), key));
  }
  std::string plen = "+prog_len=" + std::to_string(program.size());
  std::vector<std::string> run = opts.tool == ExternalTool::Verilator
                                     ? std::vector<std::string>{exe, plen}
                                     : std::vector<std::string>{opts.vvp, "tb.vvp", plen};
  TRY_ASSIGN(ProcessResult pr, runProcess(run, opts.workDir, path("run"), opts.timeoutSeconds));
  if (pr.exitCode != 0 || pr.timedOut)
    return Diagnostic::error("external-sim-failed", "the testbench run failed (" +
                                                         path("run.err") + "): " +
                                                         pr.err.substr(0, 2000));
  // Read the state back.
  std::ifstream st(path("state.txt"));
  TileRun r;
  unsigned done = 0, fault = 0;
  uint64_t faultCode = 0, faultPc = 0, faultAddr = 0;
  if (!(st >> r.cycles >> done >> fault >> faultCode >> faultPc >> faultAddr))
    return Diagnostic::error("external-sim-failed", "malformed " + path("state.txt"));
  r.fault = fault;
  r.faultCode = unsigned(faultCode);
  r.faultPc = uint32_t(faultPc);
  r.faultAddr = uint32_t(faultAddr);
  std::string a, fl, lf;
  st >> a >> fl >> lf;
  auto hexv = [](const std::string &s) -> uint64_t {
    return s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos && !s.empty()
               ? std::stoull(s, nullptr, 16)
               : ~0ull; // x / z: never equal to a golden value
  };
  r.state.amax = uint32_t(hexv(a));
  r.state.flags = uint32_t(hexv(fl));
  r.state.lfsr = uint32_t(hexv(lf));
  auto bytes = [&](uint64_t n) {
    std::vector<uint8_t> v(n);
    std::string s;
    for (uint64_t i = 0; i < n && st >> s; ++i)
      v[i] = uint8_t(hexv(s));
    return v;
  };
  r.state.spad = bytes(cfg.spadBytes);
  r.state.scale = bytes(cfg.scaleBytes);
  r.state.meta = bytes(cfg.metaBytes);
  r.state.acc.resize(cfg.accWords());
  for (uint32_t i = 0; i < cfg.accWords(); ++i) {
    std::string s;
    st >> s;
    r.state.acc[i] = uint32_t(hexv(s));
  }
  if (!done && !fault)
    return Diagnostic::error("rtl-timeout", "the tile did not finish in " +
                                                std::to_string(opts.maxCycles) + " cycles");
  std::ifstream dout(path("dram_out.hex"));
  std::string s;
  size_t i = 0;
  while (dout >> s && i < dram.size()) {
    if (s[0] == '/' || s[0] == '@')
      continue;
    dram[i++] = uint8_t(hexv(s));
  }
  return r;
}

} // namespace tessera::runtime
