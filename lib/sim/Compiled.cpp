//===- Compiled.cpp - the compiled engine: build, cache, load -------------===//
//
// The generated C++ (CodeGen.cpp) is compiled into a shared object with the system
// compiler and loaded with dlopen. Objects are cached by content: the key hashes the
// source, the compiler command and flags, the compiler's --version output (and the CPU
// model when the flags say -march=native), so a changed design, compiler or flag builds
// anew and anything else is a cache hit. Files are written under temporary names and
// renamed into place, so concurrent builds of the same model are safe; a lock file per model
// makes concurrent processes wait for one build instead of compiling it again.
//
//===----------------------------------------------------------------------===//
#include "sim/Model.h"

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <spawn.h>
#include <sstream>
#include <sys/file.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

namespace tessera::sim::detail {

namespace {

namespace fs = std::filesystem;

uint64_t fnv1a(std::string_view s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::vector<std::string> splitWords(const std::string &s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w)
    out.push_back(w);
  return out;
}

/// Runs argv, stdout and stderr to `log`; returns the exit status (-1 if it did not run).
int runProcess(const std::vector<std::string> &argv, const std::string &log) {
  std::vector<char *> args;
  for (const std::string &a : argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// Runs the commands, at most hardware_concurrency() at a time; their exit statuses.
std::vector<int> runProcesses(const std::vector<std::vector<std::string>> &jobs,
                              const std::vector<std::string> &logs) {
  std::vector<int> rcs(jobs.size(), -1);
  if (jobs.size() == 1) {
    rcs[0] = runProcess(jobs[0], logs[0]);
    return rcs;
  }
  size_t width = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  std::atomic<size_t> next{0};
  for (size_t t = 0; t < std::min(width, jobs.size()); ++t)
    pool.emplace_back([&] {
      for (size_t j; (j = next++) < jobs.size();)
        rcs[j] = runProcess(jobs[j], logs[j]);
    });
  for (std::thread &t : pool)
    t.join();
  return rcs;
}

/// `cxx --version` (cached per compiler), the compiler's identity in the cache key.
std::string compilerVersion(const std::string &cxx, const std::string &tmpDir) {
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(cxx); it != cache.end())
    return it->second;
  std::string log = tmpDir + "/version." + std::to_string(getpid()) + ".txt";
  std::vector<std::string> argv = splitWords(cxx);
  argv.push_back("--version");
  int rc = runProcess(argv, log);
  std::string v;
  if (rc == 0) {
    std::ifstream in(log);
    std::getline(in, v);
  }
  std::remove(log.c_str());
  cache[cxx] = v;
  return v;
}

std::string cpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model, flags;
  while (std::getline(in, line)) {
    if (model.empty() && line.rfind("model name", 0) == 0)
      model = line;
    if (flags.empty() && line.rfind("flags", 0) == 0)
      flags = line;
  }
  return model + "\n" + flags;
}

std::string defaultCacheDir() {
  if (const char *e = std::getenv("TESSERA_CACHE"); e && *e)
    return std::string(e) + "/sim";
  if (const char *h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.cache/tessera/sim";
  return (fs::temp_directory_path() / "tessera-sim-cache").string();
}

/// The top module's name reduced to [A-Za-z0-9_], for readable cache file names.
std::string safeName(const std::string &n) {
  std::string r;
  for (char c : n)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_')
      r += c;
  if (r.size() > 40)
    r.resize(40);
  return r.empty() ? "model" : r;
}

using SettleFn = void (*)(void *);
using RunFn = void (*)(void *, uint64_t, int);
using SizeFn = uint64_t (*)();

class CompiledSimulator final : public ModelSimulator {
public:
  CompiledSimulator(Program prog, BuildStats stats, void *handle)
      : ModelSimulator(std::move(prog), std::move(stats)), handle_(handle) {
    settle_ = reinterpret_cast<SettleFn>(dlsym(handle_, "tsim_settle"));
    edge_ = reinterpret_cast<SettleFn>(dlsym(handle_, "tsim_edge"));
    run_ = reinterpret_cast<RunFn>(dlsym(handle_, "tsim_run"));
    observe_ = reinterpret_cast<SettleFn>(dlsym(handle_, "tsim_observe"));
  }
  ~CompiledSimulator() override {
    if (handle_)
      dlclose(handle_);
  }

protected:
  void settle() override { settle_(arena()); }
  void edge() override { edge_(arena()); }
  void observe() override { observe_(arena()); }
  void run(uint64_t n) override {
    if (n == 0)
      return;
    run_(arena(), n, dirty_ ? 1 : 0);
    dirty_ = true;
  }

private:
  void *handle_;
  SettleFn settle_ = nullptr, edge_ = nullptr, observe_ = nullptr;
  RunFn run_ = nullptr;
};

} // namespace

Expected<std::unique_ptr<ModelSimulator>> makeCompiled(Program prog, BuildStats stats,
                                                       const SimOptions &opts) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> units = generateModel(prog, opts.unitBytes);
  std::string dir = opts.cacheDir.empty() ? defaultCacheDir() : opts.cacheDir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Diagnostic::error("sim-cache", "cannot create the model cache directory '" + dir +
                                              "': " + ec.message());
  std::string cxx = opts.cxx.empty() ? "c++" : opts.cxx;
  std::string flags = opts.cxxFlags;
  std::string keyText;
  size_t sourceBytes = 0;
  for (const std::string &u : units) {
    keyText += u;
    keyText += '\0';
    sourceBytes += u.size();
  }
  keyText += cxx + '\0' + flags + '\0' + compilerVersion(cxx, dir) + '\0' + "abi1";
  if (flags.find("native") != std::string::npos)
    keyText += '\0' + cpuModel();
  char key[40];
  std::snprintf(key, sizeof key, "%016llx%016llx",
                static_cast<unsigned long long>(fnv1a(keyText, 0xcbf29ce484222325ULL)),
                static_cast<unsigned long long>(fnv1a(keyText, 0x84222325cbf29ce4ULL)));
  stats.cacheKey = key;
  std::string base = dir + "/" + safeName(prog.net.topName) + "-" + key;
  std::string so = base + ".so";
  stats.frontEndSeconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // One compile per model: a process that finds no model takes the model's lock file, so
  // concurrent processes building the same model (parallel tests) wait for the first one
  // and then load its result instead of compiling it again.
  int lockFd = -1;
  if (!fs::exists(so)) {
    lockFd = ::open((base + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (lockFd >= 0)
      while (::flock(lockFd, LOCK_EX) != 0 && errno == EINTR) {
      }
  }
  struct LockRelease {
    int fd;
    ~LockRelease() {
      if (fd >= 0) {
        ::flock(fd, LOCK_UN);
        ::close(fd);
      }
    }
  } lockRelease{lockFd};
  if (!fs::exists(so)) {
    auto t1 = std::chrono::steady_clock::now();
    std::string tag = "." + std::to_string(getpid()) + ".tmp";
    std::vector<std::string> cpps;
    for (size_t u = 0; u < units.size(); ++u) {
      std::string cpp = base + (u ? "-" + std::to_string(u) : std::string()) + ".cpp";
      {
        std::ofstream out(cpp + tag, std::ios::binary);
        out << units[u];
        if (!out)
          return Diagnostic::error("sim-cache", "cannot write '" + cpp + tag + "'");
      }
      fs::rename(cpp + tag, cpp, ec);
      cpps.push_back(cpp);
    }
    if (opts.progress)
      std::cerr << "tessera sim: compiling model (" << sourceBytes / 1024 << " KiB of C++"
                << (units.size() > 1 ? ", " + std::to_string(units.size()) + " units" : "")
                << ")\n";
    std::vector<std::string> common = splitWords(cxx);
    for (const std::string &f : splitWords(flags))
      common.push_back(f);
    for (const char *f : {"-std=gnu++17", "-w", "-fPIC"})
      common.push_back(f);
    // One unit: compile and link in one step. Several: objects in parallel, then link.
    std::vector<std::vector<std::string>> jobs;
    std::vector<std::string> objs;
    if (units.size() == 1) {
      std::vector<std::string> a = common;
      for (const std::string &x : {std::string("-shared"), std::string("-o"), so + tag, cpps[0]})
        a.push_back(x);
      jobs.push_back(std::move(a));
    } else {
      for (const std::string &cpp : cpps) {
        std::string obj = cpp.substr(0, cpp.size() - 4) + ".o" + tag;
        std::vector<std::string> a = common;
        for (const std::string &x : {std::string("-c"), std::string("-o"), obj, cpp})
          a.push_back(x);
        jobs.push_back(std::move(a));
        objs.push_back(obj);
      }
    }
    std::string log = base + ".log";
    auto failed = [&](const std::string &what, int rc, const std::string &logFile) {
      std::ifstream in(logFile);
      std::string first, line;
      for (int i = 0; i < 5 && std::getline(in, line); ++i)
        first += "\n  " + line;
      fs::rename(logFile, log, ec);
      std::remove((so + tag).c_str());
      for (const std::string &o : objs)
        std::remove(o.c_str());
      return Diagnostic::error("sim-compile", "the C++ compiler failed on the generated model " +
                                                  what + " (exit " + std::to_string(rc) + "; see " +
                                                  log + ")" + first);
    };
    std::vector<std::string> logs;
    for (size_t j = 0; j < jobs.size(); ++j)
      logs.push_back(log + "." + std::to_string(j) + tag);
    std::vector<int> rcs = runProcesses(jobs, logs);
    for (size_t j = 0; j < jobs.size(); ++j)
      if (rcs[j] != 0)
        return failed(cpps[j], rcs[j], logs[j]);
    for (const std::string &l : logs)
      std::remove(l.c_str());
    if (!objs.empty()) {
      std::vector<std::string> a = splitWords(cxx);
      for (const std::string &f : splitWords(flags))
        a.push_back(f);
      for (const std::string &x : {std::string("-shared"), std::string("-o"), so + tag})
        a.push_back(x);
      for (const std::string &o : objs)
        a.push_back(o);
      int rc = runProcess(a, log + tag);
      if (rc != 0)
        return failed("(link)", rc, log + tag);
      std::remove((log + tag).c_str());
      for (const std::string &o : objs)
        std::remove(o.c_str());
    }
    fs::rename(so + tag, so, ec);
    if (ec)
      return Diagnostic::error("sim-cache", "cannot store '" + so + "': " + ec.message());
    stats.compileSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  } else {
    stats.cacheHit = true;
  }

  void *h = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h)
    return Diagnostic::error("sim-load",
                             std::string("cannot load the compiled model: ") + dlerror());
  auto size = reinterpret_cast<SizeFn>(dlsym(h, "tsim_arena_size"));
  if (!size || !dlsym(h, "tsim_settle") || !dlsym(h, "tsim_edge") || !dlsym(h, "tsim_run") ||
      !dlsym(h, "tsim_observe") || size() != prog.arenaSize) {
    dlclose(h);
    return Diagnostic::error("sim-load",
                             "the cached model '" + so + "' does not match this design; delete it");
  }
  return std::unique_ptr<ModelSimulator>(
      std::make_unique<CompiledSimulator>(std::move(prog), std::move(stats), h));
}

} // namespace tessera::sim::detail
