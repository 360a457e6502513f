"""A revision's or task's first process: it runs the container's command and takes its whole group down
with the emulator.

The emulator starts this script (with ``-I``, the standard library only) from its spawner thread with
PR_SET_PDEATHSIG set to SIGUSR1, in a process group of its own, and the command as its arguments. The
kernel signals only this direct child when the emulator dies, even of SIGKILL; a command's own children
(``uv run`` starts Python, ``sh -c`` without ``exec`` starts the server) would outlive it. So on SIGUSR1
this process kills its group, which holds them all. Otherwise it only waits: the command's exit code (or
the signal that ended it) is its own, and a SIGTERM to the group from the emulator's stop reaches the
command directly. Written by hand: no library supervises a process tree against its parent's death.
"""

import os
import signal
import subprocess
import sys


def main():
    parent = os.getppid()

    def orphaned(_signum=None, _frame=None):
        os.killpg(0, signal.SIGKILL)

    signal.signal(signal.SIGUSR1, orphaned)
    # The group's SIGTERM is for the command, which exits; this process waits for it. A handler, not SIG_IGN:
    # an ignored signal stays ignored across exec, and the command would never see it.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
    if os.getppid() != parent or parent == 1:  # the emulator died before the signal was armed
        orphaned()
    try:
        child = subprocess.Popen(sys.argv[1:])  # pylint: disable=consider-using-with
    except OSError as exc:
        # As a container runtime reports it: the command cannot be found or run.
        print(f"exec {sys.argv[1] if len(sys.argv) > 1 else ''}: {exc.strerror}", flush=True)
        return 127 if isinstance(exc, FileNotFoundError) else 126
    code = child.wait()
    if code < 0:  # ended by a signal: end the same way, so the emulator sees what the command saw
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    sys.exit(main())
