//===- Process.cpp - run an external tool with a timeout and captured logs -===//
//
// fork/exec with the child in its own process group; the parent polls wait4 with an
// exponential back-off while a timeout is set, and kills the group when it expires.
//
//===----------------------------------------------------------------------===//
#include "support/Process.h"

#include "support/FileIO.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <filesystem>
#include <sys/wait.h>
#include <unistd.h>

namespace tessera {

Expected<ProcessResult> runProcess(const std::vector<std::string> &argv, const std::string &cwd,
                                   const std::string &logBase, double timeoutSeconds) {
  if (argv.empty())
    return Diagnostic::error("tool-failed", "no command to run");
  // The child changes into `cwd` before it opens the logs: a relative log path must
  // name the file as the caller sees it.
  std::error_code ec;
  const std::string base = std::filesystem::absolute(logBase, ec).string();
  std::string outPath = (ec ? logBase : base) + ".out", errPath = (ec ? logBase : base) + ".err";
  std::vector<char *> cargv;
  for (const std::string &a : argv)
    cargv.push_back(const_cast<char *>(a.c_str()));
  cargv.push_back(nullptr);

  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0)
    return Diagnostic::error("tool-failed",
                             "cannot start '" + argv[0] + "': " + std::strerror(errno));
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    if (chdir(cwd.c_str()) != 0)
      _exit(126);
    int in = open("/dev/null", O_RDONLY);
    int out = open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0)
      _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    setpgid(0, 0);
    execvp(cargv[0], cargv.data());
    static const char kMsg[] = "exec failed: command not found or not executable\n";
    ssize_t ignored = write(2, kMsg, sizeof kMsg - 1);
    (void)ignored;
    _exit(127);
  }

  ProcessResult r;
  int status = 0;
  struct rusage ru {};
  int sleepUs = 200;
  for (;;) {
    pid_t w = wait4(pid, &status, timeoutSeconds > 0 ? WNOHANG : 0, &ru);
    if (w == pid)
      break;
    if (w < 0 && errno != EINTR)
      return Diagnostic::error("tool-failed",
                               "waiting for '" + argv[0] + "': " + std::strerror(errno));
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (timeoutSeconds > 0 && elapsed > timeoutSeconds && !r.timedOut) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      r.timedOut = true;
    }
    if (timeoutSeconds > 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(sleepUs));
      sleepUs = std::min(sleepUs * 2, 20000);
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.maxRssKb = static_cast<uint64_t>(ru.ru_maxrss);
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (auto t = readTextFile(outPath); t.ok())
    r.out = std::move(*t);
  if (auto t = readTextFile(errPath); t.ok())
    r.err = std::move(*t);
  return r;
}

std::string toolVersion(const std::string &tool, const std::string &arg,
                        const std::string &scratchDir) {
  auto p = runProcess({tool, arg}, scratchDir, scratchDir + "/version-probe", 30);
  std::string v;
  if (p.ok() && p->exitCode == 0) {
    std::string text = p->out.empty() ? p->err : p->out;
    v = text.substr(0, text.find('\n'));
  }
  std::remove((scratchDir + "/version-probe.out").c_str());
  std::remove((scratchDir + "/version-probe.err").c_str());
  return v;
}

} // namespace tessera
