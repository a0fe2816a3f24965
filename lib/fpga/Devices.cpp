//===- Devices.cpp - capacities of the FPGA devices the flow knows --------===//
//
// Xilinx 7-series numbers are from the 7 Series FPGAs Data Sheet: Overview (DS180):
// slice LUTs, flip-flops, DSP48E1 slices, block RAM as RAMB18 equivalents (one RAMB36
// = two RAMB18), CARRY4 = one per slice, LUTs usable as distributed RAM / SRL (SLICEM),
// and the largest package's user I/O. iCE40 numbers are the logic cells, 4 kbit block
// RAMs, SB_MAC16 DSPs and SPRAMs of the iCE40 LP/HX and UltraPlus data sheets, and the
// user I/O pins of the package nextpnr is given.
//
//===----------------------------------------------------------------------===//
#include "fpga/Fpga.h"

namespace tessera::fpga {

std::string_view targetName(Target t) { return t == Target::Xilinx ? "xilinx" : "ice40"; }

std::optional<Target> targetFromName(std::string_view name) {
  if (name == "xilinx")
    return Target::Xilinx;
  if (name == "ice40")
    return Target::Ice40;
  return std::nullopt;
}

uint64_t Device::capacityOf(std::string_view resource) const {
  for (const Capacity &c : capacity)
    if (c.resource == resource)
      return c.available;
  return 0;
}

const std::vector<Device> &devices(Target t) {
  static const std::vector<Device> kXilinx = {
      {"xc7a35t",
       Target::Xilinx,
       "",
       "",
       true,
       {{"LUT", 20800},
        {"FF", 41600},
        {"CARRY4", 5200},
        {"DSP48E1", 90},
        {"BRAM18", 100},
        {"LUTRAM", 6400},
        {"IO", 250},
        {"BUFG", 32}}},
      {"xc7a100t",
       Target::Xilinx,
       "",
       "",
       true,
       {{"LUT", 63400},
        {"FF", 126800},
        {"CARRY4", 15850},
        {"DSP48E1", 240},
        {"BRAM18", 270},
        {"LUTRAM", 19000},
        {"IO", 300},
        {"BUFG", 32}}},
      {"xc7a200t",
       Target::Xilinx,
       "",
       "",
       true,
       {{"LUT", 134600},
        {"FF", 269200},
        {"CARRY4", 33650},
        {"DSP48E1", 740},
        {"BRAM18", 730},
        {"LUTRAM", 46200},
        {"IO", 500},
        {"BUFG", 32}}},
  };
  static const std::vector<Device> kIce40 = {
      {"hx1k",
       Target::Ice40,
       "--hx1k",
       "tq144",
       false,
       {{"ICESTORM_LC", 1280}, {"ICESTORM_RAM", 16}, {"ICESTORM_DSP", 0}, {"SB_IO", 95}}},
      {"up5k",
       Target::Ice40,
       "--up5k",
       "sg48",
       true,
       {{"ICESTORM_LC", 5280}, {"ICESTORM_RAM", 30}, {"ICESTORM_DSP", 8}, {"SB_IO", 39}}},
      {"hx8k",
       Target::Ice40,
       "--hx8k",
       "ct256",
       false,
       {{"ICESTORM_LC", 7680}, {"ICESTORM_RAM", 32}, {"ICESTORM_DSP", 0}, {"SB_IO", 206}}},
  };
  return t == Target::Xilinx ? kXilinx : kIce40;
}

Expected<Device> findDevice(Target t, const std::string &name) {
  std::vector<std::string> names;
  for (const Device &d : devices(t)) {
    if (d.name == name)
      return d;
    names.push_back(d.name);
  }
  std::string list;
  for (const std::string &n : names)
    list += (list.empty() ? "" : ", ") + n;
  Diagnostic d =
      Diagnostic::error("unknown-device", "unknown " + std::string(targetName(t)) + " device '" +
                                              name + "' (known: " + list + ")");
  if (std::string m = closestMatch(name, names); !m.empty())
    d.withNote(Diagnostic::note("did you mean '" + m + "'?"));
  return d;
}

} // namespace tessera::fpga
