"""Notice when another process ends, however it ends (SIGKILL included).

A process that dies by SIGKILL runs no clean-up, so whatever it started must notice on its own.
Linux hands out a file descriptor for a process (``pidfd_open``) that becomes readable when the
process exits; a daemon thread waits on it. Elsewhere the thread asks every second whether the
process still exists.
"""

from __future__ import annotations

import functools
import os
import select
import threading
from collections.abc import Callable

_POLL_INTERVAL_S = 1.0


def on_exit_of(pid: int, action: Callable[[], object]) -> bool:
    """Call ``action`` (in a daemon thread) once process ``pid`` has ended.

    Returns ``False``, without starting anything, when ``pid`` is already gone: the caller
    decides what that means (a worker whose owner is gone exits at once).
    """
    target: Callable[[], None]
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    except (AttributeError, OSError):  # no pidfd here (not Linux, or a kernel before 5.3)
        if not _exists(pid):
            return False
        target = functools.partial(_poll, pid, action)
    else:
        target = functools.partial(_wait, handle, action)
    threading.Thread(target=target, name=f"lifeline-{pid}", daemon=True).start()
    return True


def _wait(handle: int, action: Callable[[], object]) -> None:
    poller = select.poll()
    poller.register(handle, select.POLLIN)
    while not poller.poll():
        pass
    os.close(handle)
    action()


def _poll(pid: int, action: Callable[[], object]) -> None:
    while _exists(pid):
        threading.Event().wait(_POLL_INTERVAL_S)
    action()


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
