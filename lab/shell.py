"""Small helpers shared by the lab modules: running commands, reporting steps, bounded waits, processes."""

import os
import signal
import socket
import subprocess
import sys
import time


class LabError(Exception):
    """A lab step failed. The message names the step and, for commands, shows the end of stderr."""

    def __init__(self, step, message):
        super().__init__(f"{step}: {message}")
        self.step = step


def say(step, message):
    """Print one progress line for a step."""
    print(f"[{step}] {message}", flush=True)


def tail(text, lines=15):
    """The last lines of a command's output, for error messages."""
    text = (text or "").strip()
    return "\n".join(text.splitlines()[-lines:])


def run(step, cmd, check=True, timeout=300, input=None, env=None, cwd=None):
    """Run cmd (a list); return the CompletedProcess (text mode, output captured).

    With check=True a non-zero exit raises LabError with the step name, the command and the stderr tail.
    A command that runs longer than timeout seconds raises LabError too.
    """
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input,
                                env=env, cwd=cwd, stdin=None if input is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise LabError(step, f"command not found: {cmd[0]}") from None
    except subprocess.TimeoutExpired:
        raise LabError(step, "timed out after {}s: {}".format(timeout, " ".join(cmd))) from None
    if check and result.returncode != 0:
        raise LabError(step, "command failed (exit {}): {}\n{}".format(
            result.returncode, " ".join(cmd), tail(result.stderr or result.stdout)))
    return result


def wait_until(step, what, predicate, timeout, interval=0.25):
    """Call predicate() until it returns something true, at most timeout seconds; return that value.

    Raises LabError naming `what` when the time is up.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise LabError(step, f"gave up after {timeout}s waiting for {what}")
        time.sleep(interval)


def tcp_open(host, port, timeout=0.5):
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def write_file(path, text, mode=0o644):
    """Write text to path atomically (temp file + rename) with the given mode. Returns True if it changed."""
    try:
        with open(path) as old:
            if old.read() == text and (os.stat(path).st_mode & 0o7777) == mode:
                return False
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return True


# ----------------------------------------------------------------------------- processes

def process_cmdline(pid):
    """The argument list of a live process, or None if it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return None
        with open(f"/proc/{pid}/cmdline", "rb") as raw:
            data = raw.read()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    if not data:
        return None
    return [part.decode(errors="replace") for part in data.rstrip(b"\0").split(b"\0")]


def find_processes(matches):
    """PIDs of live processes whose command line satisfies matches(argv)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        argv = process_cmdline(int(entry))
        if argv and matches(argv):
            found.append(int(entry))
    return sorted(found)


def zombies(matches_comm):
    """PIDs of zombie processes whose /proc/PID/comm satisfies matches_comm(comm)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except FileNotFoundError:
            continue
        comm = text[text.find("(") + 1:text.rfind(")")]
        state = text.rsplit(")", 1)[1].split()[0]
        if state == "Z" and matches_comm(comm):
            found.append(int(entry))
    return found


def read_pid(path):
    """The PID stored in a pid file, or None."""
    try:
        with open(path) as pidfile:
            return int(pidfile.read().strip())
    except (FileNotFoundError, ValueError):
        return None


def kill_process(step, pid, matches, timeout=10):
    """Stop process pid with SIGTERM (then SIGKILL), but only if its command line satisfies matches(argv).

    Returns True if a process was stopped. A process that is already gone (or a zombie) is fine.
    """
    argv = process_cmdline(pid)
    if not argv or not matches(argv):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while process_cmdline(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if process_cmdline(pid):
        os.kill(pid, signal.SIGKILL)
        wait_until(step, f"pid {pid} to exit after SIGKILL", lambda: not process_cmdline(pid), 5)
    # Reap it if it happens to be our own child (otherwise PID 1 owns it; see README "zombies").
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return True


def stop_daemon(step, name, pid_file, is_ours, leftovers=()):
    """Stop a daemon the lab started (its pid file first, then any other instance is_ours() recognises),
    remove the pid file and leftovers, and say what happened. Returns the PIDs stopped."""
    stopped = []
    for pid in [read_pid(pid_file)] + find_processes(is_ours):
        if pid and pid not in stopped and kill_process(step, pid, is_ours):
            stopped.append(pid)
    for path in (pid_file, *leftovers):
        if os.path.exists(path):
            os.unlink(path)
    say(step, "stopped {} (pid {})".format(name, ", ".join(map(str, stopped))) if stopped
        else f"ok ({name} not running)")
    return stopped


def spawn_daemon(cmd, log_path, pid_path, env=None, cwd=None):
    """Start cmd detached from this process (new session, stdin /dev/null, output to log_path).

    It survives the lab command exiting. Its PID is written to pid_path and returned.
    """
    log = open(log_path, "ab")
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env, cwd=cwd, close_fds=True)
    finally:
        log.close()
    write_file(pid_path, f"{proc.pid}\n")
    return proc.pid


def require_root(step):
    """The lab changes the host (bridge, loop devices, containers): it must run as root."""
    if os.geteuid() != 0:
        raise LabError(step, "run the lab as root (it creates a bridge, loop devices and LXC containers)")


def python():
    """The Python interpreter running the lab (the project's venv), for child processes."""
    return sys.executable
