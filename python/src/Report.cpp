//===- Report.cpp - report.json / report.html of a run ------------------------===//
#include "Report.h"

#include "support/FileIO.h"
#include "support/Html.h"
#include "support/Json.h"
#include "support/Svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace tessera::python {

Status writeRunReport(const runtime::Runtime &rt, const runtime::RunResult &r,
                      const std::vector<double> &losses, const std::string &dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Diagnostic::error("io-error", "cannot create directory '" + dir + "': " + ec.message());
  const compiler::Program &p = rt.program();
  nlohmann::ordered_json j;
  j["model"] = p.model;
  j["policy"] = std::string(compiler::policyName(p.policy));
  j["train"] = p.train;
  j["backend"] = std::string(runtime::backendName(r.backend));
  j["steps"] = rt.stepsDone();
  j["cycles"] = r.cycles;
  j["instructions"] = r.instructions;
  j["losses"] = losses;
  nlohmann::ordered_json ops = nlohmann::ordered_json::array();
  for (const runtime::OpTime &t : r.ops)
    ops.push_back({{"op", t.op},
                   {"name", t.name},
                   {"kind", t.kind},
                   {"phase", p.ops[t.op].phase},
                   {"cycles", t.cycles},
                   {"instructions", t.instructions}});
  j["ops"] = std::move(ops);
  TRY(writeTextFile(dir + "/report.json", writeJson(j)));

  HtmlDoc doc("tessera run: " + p.model);
  doc.keyValues({{"program", p.model + (p.train ? " (training step)" : " (forward)")},
                 {"policy", std::string(compiler::policyName(p.policy))},
                 {"backend", std::string(runtime::backendName(r.backend))},
                 {"cycles (last run)", std::to_string(r.cycles)},
                 {"dynamic instructions", std::to_string(r.instructions)}});
  if (r.ops.empty()) {
    doc.paragraph("Per-op cycles are measured by the cycle backend (--backend cycle).");
  } else {
    uint64_t sum = 0;
    for (const runtime::OpTime &t : r.ops)
      sum += t.cycles;
    std::vector<std::vector<std::string>> rows;
    BarChart chart("cycles per op (queue-busy time)");
    chart.valueLabel("cycles");
    for (const runtime::OpTime &t : r.ops) {
      rows.push_back(
          {std::to_string(t.op), t.name, t.kind, p.ops[t.op].phase, std::to_string(t.cycles),
           fmt::format("{:.1f}%", 100.0 * double(t.cycles) / double(std::max<uint64_t>(sum, 1))),
           std::to_string(t.instructions)});
      chart.bar(t.name, {double(t.cycles)});
    }
    doc.heading(2, "Time per op");
    doc.figure(chart.render());
    doc.table({"#", "op", "kind", "phase", "cycles", "share", "instructions"}, rows);
    doc.paragraph("An op's cycles are the sum over its dynamic instructions of start-to-"
                  "completion time in their queue; queues overlap, so the sum over ops can "
                  "exceed the program's cycles.");
  }
  if (losses.size() > 1) {
    std::vector<std::pair<double, double>> pts;
    for (size_t i = 0; i < losses.size(); ++i)
      pts.push_back({double(i + 1), losses[i]});
    LinePlot plot("loss per step");
    plot.xAxis({"step"}).yAxis({"loss"}).line(std::string(compiler::policyName(p.policy)), pts);
    doc.heading(2, "Loss");
    doc.figure(plot.render());
  }
  return writeTextFile(dir + "/report.html", doc.render());
}

} // namespace tessera::python
