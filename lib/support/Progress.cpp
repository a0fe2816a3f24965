//===- Progress.cpp - a thread-safe progress bar for long work -------------===//
#include "support/Progress.h"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <unistd.h>

namespace tessera {

bool isTerminal(const std::ostream &os) {
  std::streambuf *buf = os.rdbuf();
  if (buf == nullptr)
    return false;
  if (buf == std::cerr.rdbuf() || buf == std::clog.rdbuf())
    return ::isatty(STDERR_FILENO) != 0;
  if (buf == std::cout.rdbuf())
    return ::isatty(STDOUT_FILENO) != 0;
  return false;
}

ProgressBar::ProgressBar(std::ostream &os, uint64_t total, std::string label, ProgressOptions opts)
    : os_(os), total_(total), label_(std::move(label)), opts_(std::move(opts)) {
  tty_ = opts_.tty.value_or(isTerminal(os_));
  start_ = now();
  lastDraw_ = start_;
}

ProgressBar::~ProgressBar() { finish(); }

std::string ProgressBar::formatDuration(std::chrono::steady_clock::duration d) {
  int64_t s = std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(d).count());
  if (s >= 3600)
    return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string ProgressBar::statusLine(uint64_t done, Clock::time_point t, bool final) const {
  Clock::duration elapsed = t - start_;
  bool known = total_ > 0;
  unsigned percent = known ? unsigned(std::min(100.0, 100.0 * double(done) / double(total_))) : 0;
  std::string eta;
  if (known && done > 0 && done < total_)
    eta = formatDuration(std::chrono::duration_cast<Clock::duration>(
        elapsed * (double(total_ - done) / double(done))));
  bool complete = known ? done >= total_ : true;
  std::string timing = final ? (complete ? "done in " : "stopped after ") + formatDuration(elapsed)
                             : "elapsed " + formatDuration(elapsed);

  std::string s;
  if (tty_) {
    if (!label_.empty())
      s += label_ + " ";
    if (known) {
      size_t filled = size_t(double(opts_.barWidth) * std::min(1.0, double(done) / double(total_)));
      std::string bar(filled, '=');
      if (filled < opts_.barWidth) {
        if (filled > 0)
          bar.back() = '>';
        bar.append(opts_.barWidth - filled, ' ');
      }
      size_t digits = std::to_string(total_).size();
      s += fmt::format("[{}]  {:>{}}/{}  {:>3}%  {}", bar, done, digits, total_, percent, timing);
    } else {
      s += fmt::format("{}  {}", done, timing);
    }
    if (!final && !eta.empty())
      s += "  eta " + eta;
  } else {
    if (!label_.empty())
      s += label_ + ": ";
    if (known)
      s += fmt::format("{}/{} ({}%) {}", done, total_, percent, timing);
    else
      s += fmt::format("{} {}", done, timing);
    if (!final && !eta.empty())
      s += " eta " + eta;
  }
  return s;
}

void ProgressBar::drawLocked(uint64_t done, Clock::time_point t, bool final) {
  std::string line = statusLine(done, t, final);
  if (tty_) {
    size_t width = line.size();
    if (width < lastWidth_)
      line.append(lastWidth_ - width, ' '); // blank what the longer last line left behind
    lastWidth_ = width;
    os_ << '\r' << line;
    if (final)
      os_ << '\n';
  } else {
    os_ << line << '\n';
  }
  os_.flush();
  lastDraw_ = t;
}

void ProgressBar::advance(uint64_t n) {
  uint64_t done = done_.fetch_add(n, std::memory_order_relaxed) + n;
  if (opts_.quiet)
    return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_)
    return;
  // Re-read under the lock so that lines never go backwards when threads race.
  done = std::max(done, done_.load(std::memory_order_relaxed));
  Clock::time_point t = now();
  if (tty_) {
    if (t - lastDraw_ >= opts_.redrawInterval || lastWidth_ == 0)
      drawLocked(done, t, false);
    return;
  }
  if (total_ > 0 && opts_.lineStepPercent > 0 && done < total_) {
    uint64_t step = uint64_t(100.0 * double(done) / double(total_)) / opts_.lineStepPercent;
    if (step > lastStep_) {
      lastStep_ = step;
      drawLocked(done, t, false);
      return;
    }
  }
  if (t - lastDraw_ >= opts_.lineInterval)
    drawLocked(done, t, false);
}

void ProgressBar::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_)
    return;
  finished_ = true;
  if (!opts_.quiet)
    drawLocked(done_.load(std::memory_order_relaxed), now(), true);
}

} // namespace tessera
