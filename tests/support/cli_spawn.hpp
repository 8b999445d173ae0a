#pragma once
// Starting the graphrun binary as a child a test can signal while it runs (run_cli waits for
// it to end): its output goes to a file, its exit is read with wait_cli.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace graphrun::testing {

// argv after the program name; stdout and stderr go to `log`. SIGINT and SIGTERM start at
// their defaults whatever the test runner set (an inherited SIG_IGN would stay ignored).
inline pid_t spawn_cli(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> all{GRAPHRUN_CLI};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid != 0) return pid;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
  execv(argv[0], argv.data());
  _exit(127);
}

// The exit code, or -signal when a signal ended the child.
inline int wait_cli(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1000;
  return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? -WTERMSIG(status) : -1000;
}

// True once the child has ended; `code` is then its exit as wait_cli gives it.
inline bool ended(pid_t pid, int& code) {
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) != pid) return false;
  code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? -WTERMSIG(status) : -1000;
  return true;
}

}  // namespace graphrun::testing
