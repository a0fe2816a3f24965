//===- Technology.h - area / energy constants per process node ---------------===//
//
// The technology table of the area / energy model (AreaModel.h): one value per row of
// arch/TechnologyParams.def and node, each with the place it comes from — a literature
// figure from shared/reference/technology.md (Horowitz ISSCC 2014 energies scaled with
// the Stillmaker-Baas factors, OpenPiton/Ariane FPU areas, LLMCompass PHY areas), a
// number fitted to the A100 die breakdown (shared/reference/gpu-baselines.md), or an
// engineering estimate, said as such. A spec's `technology_overrides` replace any of
// them (technologyFor).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "arch/ArchSpec.h"

#include <string_view>
#include <vector>

namespace tessera::perf {

/// The model's constants at one node; field meanings and units in TechnologyParams.def.
struct TechnologyParams {
#define TECH_PARAM(Field, ...) double Field = 0;
#include "arch/TechnologyParams.def"
};

/// Where a default comes from.
enum class ParamOrigin : uint8_t {
  Literature, ///< a published figure (possibly scaled by node)
  Fitted,     ///< fitted to the A100 die breakdown
  Estimate,   ///< engineering estimate; no calibration point
};
std::string_view paramOriginName(ParamOrigin o);

/// One row of the table: the parameter, its defaults and its source.
struct TechnologyParamInfo {
  double TechnologyParams::*field;
  std::string_view key; ///< YAML key in technology_overrides
  std::string_view unit;
  std::string_view what; ///< from TechnologyParams.def
  double at7nm;
  double at5nm;
  ParamOrigin origin;
  std::string_view source;
};
/// Every parameter in TechnologyParams.def order.
const std::vector<TechnologyParamInfo> &technologyTable();

/// Defaults at `node`.
TechnologyParams defaultTechnology(arch::TechNode node);
/// Defaults at the spec's node with its technology_overrides applied.
TechnologyParams technologyFor(const arch::ArchSpec &spec);

/// Markdown table of every parameter (key, unit, 7 nm, 5 nm, origin, source), as
/// docs/area-model.md shows it.
std::string technologyTableMarkdown();

} // namespace tessera::perf
