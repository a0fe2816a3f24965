//===- Device.h - what the training-step model needs to know about a device ---===//
//
// The multi-device training model (TrainingModel.h) is written once against this
// interface and used for GPUs (GpuModel) and for Tessera accelerators alike, so that a
// comparison between them is like for like: same workload graph, same parallelism
// arithmetic, same collective model; only the per-op cost and the links differ.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "workload/Graph.h"

#include <string>

namespace tessera::perf {

/// What bounds an op's time on a device.
enum class Bound : uint8_t { Compute, Memory, Latency, Communication, Power };
const char *boundName(Bound b);

/// The modelled execution of one op on one device.
struct OpTime {
  double seconds = 0;
  Bound bound = Bound::Compute;
  double efficiency = 0;  ///< achieved / peak of the bounding resource, in [0, 1]
  double dramBytes = 0;   ///< off-chip traffic the model assumes
  std::string detail;     ///< e.g. chosen tile, waves ("256x128 tiles, 15 waves")
};

/// A point-to-point or collective link class as the collective model sees it.
struct Link {
  double bandwidth = 0;   ///< bytes/s per device per direction, nominal
  double efficiency = 1;  ///< fraction of nominal a large collective reaches
  double latency = 0;     ///< seconds per ring step / message
};

class DeviceModel {
public:
  virtual ~DeviceModel() = default;
  virtual std::string name() const = 0;
  /// Time of a non-collective op of `g` on one device.
  virtual OpTime opTime(const workload::Graph &g, const workload::Op &op) const = 0;
  /// A streaming memory-bound kernel (gradient accumulation, optimizer passes).
  virtual OpTime streamTime(double bytesRead, double bytesWritten) const = 0;
  /// Dense peak FLOP/s for `t` on the matrix units (0 if unsupported).
  virtual double peakFlops(workload::DType t) const = 0;
  virtual double memoryCapacity() const = 0; ///< bytes of device memory
  /// Device memory the runtime keeps for itself (context, workspaces, allocator slack).
  virtual double runtimeReserve() const = 0;
  virtual double memoryBandwidth() const = 0; ///< bytes/s, nominal
  virtual int devicesPerNode() const = 0;
  virtual Link intraNodeLink() const = 0;    ///< e.g. NVLink
  virtual Link interNodeLink() const = 0;    ///< e.g. InfiniBand, per device
  /// Energy model: static power (W) and dynamic energy per unit of work.
  virtual double staticPower() const = 0;
  virtual double energyPerFlop(workload::DType t) const = 0; ///< J per matrix FLOP
  virtual double energyPerDramByte() const = 0;              ///< J per byte
  virtual double energyPerLinkByte() const = 0;              ///< J per byte sent
  virtual double powerLimit() const = 0;                      ///< W (TDP)
};

} // namespace tessera::perf
