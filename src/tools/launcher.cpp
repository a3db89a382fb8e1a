#include "fracstudy/tools/launcher.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "fracstudy/io/process_info.hpp"
#include "fracstudy/io/result_file.hpp"
#include "json_fields.hpp"

namespace fracstudy::tools {
namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> pointers;
  for (const auto& arg : argv)
    pointers.push_back(const_cast<char*>(arg.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

/// In a forked child (of a process that may have threads: nothing after the fork
/// allocates): stdin from /dev/null, stdout and stderr appended to `log`, in `workdir`.
/// False when one of them cannot be had.
bool redirect(const char* log, const char* workdir) {
  const int in = ::open("/dev/null", O_RDONLY);
  // Never blocks on a FIFO planted as the log, and writes only a regular file.
  const int out = ::open(log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK, 0644);
  struct stat info {};
  if (in < 0 || out < 0 || ::fstat(out, &info) != 0 || !S_ISREG(info.st_mode) ||
      ::chdir(workdir) != 0) {
    return false;
  }
  ::dup2(in, STDIN_FILENO);
  ::dup2(out, STDOUT_FILENO);
  ::dup2(out, STDERR_FILENO);
  if (in > STDERR_FILENO) ::close(in);
  if (out > STDERR_FILENO) ::close(out);
  return true;
}

/// Closes every descriptor from `first` up: a process that outlives its run must not hold
/// the server's files (the workspace's admission lock above all) that long.
void close_from(int first) {
  if (::syscall(SYS_close_range, static_cast<unsigned>(first), ~0u, 0u) == 0) return;
  const long most = ::sysconf(_SC_OPEN_MAX);
  for (long fd = first; fd < (most > 0 ? std::min(most, 65536L) : 4096L); ++fd) {
    ::close(static_cast<int>(fd));
  }
}

/// In a forked child: become a detached session leader writing to `log`, in `workdir`,
/// then exec `argv`.
[[noreturn]] void exec_detached(char* const* argv, const char* log, const char* workdir) {
  ::setsid();
  if (!redirect(log, workdir)) ::_exit(127);
  close_from(STDERR_FILENO + 1);  // the server's pipes and files stay the server's
  ::execvp(argv[0], argv);
  static constexpr char kMessage[] = "fracstudy-tools: cannot start the run's command\n";
  [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  ::_exit(127);
}

/// Starts `argv` detached (double fork, so no zombie is left) and returns its pid. With
/// `after_exit`, a session leader above it waits for it and then execs `after_exit`.
long spawn_detached(const std::vector<std::string>& argv, const std::string& log,
                    const std::string& workdir, const std::vector<std::string>& after_exit) {
  // Built before the fork: a child of a threaded process must not allocate.
  auto run_args = c_argv(argv);
  auto after_args = c_argv(after_exit);
  int fds[2];
  // Close-on-exec: a child another thread starts meanwhile must not hold the pipe open.
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const pid_t child = ::fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    ::close(fds[0]);
    const pid_t middle = ::fork();
    if (middle == 0 && after_exit.empty()) {
      ::close(fds[1]);
      exec_detached(run_args.data(), log.c_str(), workdir.c_str());
    }
    if (middle == 0) {
      ::setsid();
      const pid_t run = ::fork();
      if (run == 0) {
        ::close(fds[1]);
        exec_detached(run_args.data(), log.c_str(), workdir.c_str());
      }
      const long pid = run;
      [[maybe_unused]] auto ignored = ::write(fds[1], &pid, sizeof pid);
      close_from(STDERR_FILENO + 1);
      if (run < 0 || !redirect(log.c_str(), workdir.c_str())) ::_exit(1);
      int status = 0;
      while (::waitpid(run, &status, 0) < 0 && errno == EINTR) {
      }
      ::execvp(after_args[0], after_args.data());
      ::_exit(127);
    }
    if (after_exit.empty()) {
      const long pid = middle;
      [[maybe_unused]] auto ignored = ::write(fds[1], &pid, sizeof pid);
    } else if (middle < 0) {
      const long failed = -1;
      [[maybe_unused]] auto ignored = ::write(fds[1], &failed, sizeof failed);
    }
    ::_exit(middle < 0 ? 1 : 0);
  }
  ::close(fds[1]);
  long pid = -1;
  const auto got = ::read(fds[0], &pid, sizeof pid);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (got != sizeof pid || pid <= 0) throw std::runtime_error("could not start " + argv[0]);
  return pid;
}

/// The process the record started is alive and not a zombie: the same pid and, when the
/// record has it, the same start time (a pid the kernel recycled for another process
/// does not count).
bool process_alive(const LaunchRecord& record) {
  const long pid = record.pid;
  if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) != 0) return false;
  const auto fields = io::proc_stat_fields(pid);
  if (fields.empty() || fields[0] == "Z") return false;
  if (!record.has_start_ticks) return true;  // an older record: the pid is all it has
  return record.start_ticks != 0 && io::process_start_ticks(pid) == record.start_ticks;
}

}  // namespace

nlohmann::json LaunchRecord::to_json() const {
  return {{"launcher", launcher},      {"pid", pid},         {"start_ticks", start_ticks},
          {"job_id", job_id},          {"command", command}, {"started_at", started_at},
          {"queue_token", queue_token}};
}

LaunchRecord LaunchRecord::from_json(const nlohmann::json& json) {
  LaunchRecord record;
  record.launcher = text_field(json, "launcher");
  const auto number = [&json](const char* key) -> std::int64_t {
    const auto found = json.find(key);
    return found != json.end() && found->is_number_integer() ? found->get<std::int64_t>() : 0;
  };
  record.pid = static_cast<long>(number("pid"));
  record.start_ticks = static_cast<std::uint64_t>(std::max<std::int64_t>(0, number("start_ticks")));
  record.has_start_ticks = json.contains("start_ticks");
  record.job_id = text_field(json, "job_id");
  if (const auto command = json.find("command"); command != json.end() && command->is_array()) {
    for (const auto& word : *command) {
      if (word.is_string()) record.command.push_back(word.get<std::string>());
    }
  }
  record.started_at = text_field(json, "started_at");
  record.queue_token = text_field(json, "queue_token");
  return record;
}

int run_program(const std::vector<std::string>& argv, std::string& output) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t child = ::fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    ::close(fds[0]);
    ::dup2(fds[1], STDOUT_FILENO);
    auto args = c_argv(argv);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  char buffer[4096];
  ssize_t got;
  while ((got = ::read(fds[0], buffer, sizeof buffer)) > 0) {
    output.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

LaunchRecord Launcher::launch(const std::vector<std::string>& fracstudy_args,
                              const std::vector<std::string>& slurm_args,
                              const std::vector<std::string>& slurm_env,
                              const std::filesystem::path& log,
                              const std::filesystem::path& workdir,
                              const LaunchExtras& extras) const {
  return options_.kind == LauncherKind::Local
             ? launch_local(fracstudy_args, log, workdir, extras.after_exit)
             : launch_slurm(slurm_args, slurm_env, log, workdir, extras.sbatch_args);
}

LaunchRecord Launcher::launch_local(const std::vector<std::string>& fracstudy_args,
                                    const std::filesystem::path& log,
                                    const std::filesystem::path& workdir,
                                    const std::vector<std::string>& after_exit) const {
  LaunchRecord record;
  record.launcher = "local";
  if (options_.ranks > 1) {
    record.command = {"mpirun", "-n", std::to_string(options_.ranks), options_.fracstudy_exe};
  } else {
    record.command = {options_.fracstudy_exe};
  }
  record.command.insert(record.command.end(), fracstudy_args.begin(), fracstudy_args.end());
  record.pid = spawn_detached(record.command, log.string(), workdir.string(), after_exit);
  record.start_ticks = io::process_start_ticks(record.pid);
  record.started_at = io::utc_now_iso8601();
  return record;
}

LaunchRecord Launcher::launch_slurm(const std::vector<std::string>& slurm_args,
                                    const std::vector<std::string>& slurm_env,
                                    const std::filesystem::path& log,
                                    const std::filesystem::path& workdir,
                                    const std::vector<std::string>& priority_args) const {
  LaunchRecord record;
  record.launcher = "slurm";
  record.command = {"sbatch", "--parsable", "--chdir=" + workdir.string()};
  std::string exports = "--export=ALL";
  for (const auto& variable : slurm_env)
    exports += "," + variable;
  record.command.push_back(exports);
  // The job's output goes where a local run's does, appended over requeues and retries
  // (the operator's own --output, after it, still wins).
  record.command.insert(record.command.end(), {"--output=" + log.string(), "--open-mode=append"});
  record.command.insert(record.command.end(), options_.sbatch_args.begin(),
                        options_.sbatch_args.end());
  record.command.insert(record.command.end(), priority_args.begin(), priority_args.end());
  record.command.push_back(options_.sbatch_script);
  record.command.insert(record.command.end(), slurm_args.begin(), slurm_args.end());
  std::string output;
  if (run_program(record.command, output) != 0) {
    throw std::runtime_error("sbatch failed: " + output);
  }
  record.job_id = output.substr(0, output.find_first_of(";\n"));
  record.started_at = io::utc_now_iso8601();
  return record;
}

bool Launcher::is_active(const LaunchRecord& record) const {
  if (record.launcher == "local") return process_alive(record);
  if (record.job_id.empty()) return false;
  std::string state;
  if (run_program({"squeue", "-h", "-j", record.job_id, "-o", "%T"}, state) != 0) return false;
  return !state.empty() && state.find("COMPLET") == std::string::npos &&
         state.find("FAIL") == std::string::npos && state.find("CANCEL") == std::string::npos;
}

bool Launcher::cancel(const LaunchRecord& record) const {
  if (!is_active(record)) return false;
  if (record.launcher == "local") return ::kill(static_cast<pid_t>(record.pid), SIGUSR1) == 0;
  std::string output;
  return run_program({"scancel", "--signal=USR1", "--batch", record.job_id}, output) == 0;
}

}  // namespace fracstudy::tools
