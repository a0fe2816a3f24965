//===- Progress.h - a thread-safe progress bar for long work ---------------===//
//
// Long jobs (design-space sweeps, batch simulation, regression runs) report progress on a
// caller-supplied stream, stderr in tools, never stdout. On a terminal the bar redraws in
// place with '\r', at most every `redrawInterval`:
//
//   explore [==========>          ]  512/1024  50%  elapsed 0:12  eta 0:12
//
// On anything else (CI logs, files, pipes) it writes plain lines instead, one each time
// progress crosses a `lineStepPercent` boundary and at least every `lineInterval`, so logs
// stay short and readable:
//
//   explore: 512/1024 (50%) elapsed 0:12 eta 0:12
//
// advance() may be called from any thread. A total of 0 means "unknown": the bar then
// shows the count and elapsed time only.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>

namespace tessera {

/// True when `os` writes to a terminal: std::cerr/std::clog (fd 2) or std::cout (fd 1)
/// attached to a TTY. Any other stream is not a terminal.
bool isTerminal(const std::ostream &os);

struct ProgressOptions {
  using Clock = std::chrono::steady_clock;
  /// Force TTY or plain-line mode; by default isTerminal(stream).
  std::optional<bool> tty{};
  /// Write nothing at all (e.g. `--quiet`).
  bool quiet = false;
  /// Minimum time between in-place redraws in TTY mode.
  std::chrono::milliseconds redrawInterval{100};
  /// Plain-line mode: a line each time progress crosses a multiple of this percentage...
  unsigned lineStepPercent = 10;
  /// ...and at least this often while work advances (always used when the total is unknown).
  std::chrono::milliseconds lineInterval{30'000};
  /// Width of the bar itself, in characters.
  unsigned barWidth = 30;
  /// Time source; tests inject a fake clock.
  std::function<Clock::time_point()> now{};
};

class ProgressBar {
public:
  /// Progress over `total` work items (0: unknown) labelled `label` on `os`.
  ProgressBar(std::ostream &os, uint64_t total, std::string label, ProgressOptions opts = {});
  /// Finishes the bar if finish() was not called.
  ~ProgressBar();

  ProgressBar(const ProgressBar &) = delete;
  ProgressBar &operator=(const ProgressBar &) = delete;

  /// Record `n` more items done; redraws if due. Thread-safe.
  void advance(uint64_t n = 1);
  /// Write the final state ("done in ...") and end the line. Idempotent, thread-safe.
  void finish();

  uint64_t done() const { return done_.load(std::memory_order_relaxed); }
  uint64_t total() const { return total_; }

  /// "m:ss" or "h:mm:ss".
  static std::string formatDuration(std::chrono::steady_clock::duration d);

private:
  using Clock = ProgressOptions::Clock;
  Clock::time_point now() const { return opts_.now ? opts_.now() : Clock::now(); }
  /// One status line (without '\r' or '\n') for `done` items at time `t`.
  std::string statusLine(uint64_t done, Clock::time_point t, bool final) const;
  void drawLocked(uint64_t done, Clock::time_point t, bool final);

  std::ostream &os_;
  const uint64_t total_;
  const std::string label_;
  ProgressOptions opts_;
  bool tty_;
  Clock::time_point start_;

  std::atomic<uint64_t> done_{0};
  std::mutex mutex_; ///< guards everything below and the stream
  Clock::time_point lastDraw_;
  uint64_t lastStep_ = 0; ///< plain mode: last percentage step printed
  size_t lastWidth_ = 0;  ///< TTY mode: length of the last drawn line, to blank leftovers
  bool finished_ = false;
};

} // namespace tessera
