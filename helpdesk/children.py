"""What every helper process of the daemon does first: leave when the daemon is gone.

The daemon starts helper processes for a backlog (parse workers, the sender
process). They are spawned fresh, so they inherit no file descriptors, locks
or sockets; this makes them exit on their own once the daemon that started
them is gone, even after a SIGKILL, and leaves Ctrl-C to the daemon.
"""

from __future__ import annotations

import os
import signal
import threading
import time

# How often a helper process checks that the daemon is still there (seconds).
PARENT_CHECK_INTERVAL = 0.5


def leave_with_parent(parent: int) -> None:
    """Exit as soon as process ``parent`` is gone; ignore SIGINT.

    Ctrl-C in a terminal reaches the whole process group; the daemon decides
    what it means and stops its helpers itself, so they ignore it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_INTERVAL)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
