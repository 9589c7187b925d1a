"""A ``concurrent.futures.Executor`` whose tasks run on a Ray cluster.

Every caller of the node's bulk work (PSI blinding, Paillier bulk encryption and decryption,
homomorphic sums, batch scoring) takes an ``Executor`` and calls ``submit``; this class gives
them Ray without a change. A task is a module-level function and its arguments, pickled as
for a process pool; Ray's workers must be able to import ``node`` (the same fedcredit
version installed on every machine of the cluster).

The functions are the same, so the results are the same bits as in local worker processes;
only randomised steps (Paillier obfuscation, fresh PSI secrets) differ between any two runs.

Secrets travel as task arguments, as they do to local workers: on a Ray cluster they cross
the cluster's own network to its workers, so a node's Ray cluster belongs in the node's own
trust domain (its data center), never a shared one. See ``docs/scaling.md``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any, TypeVar

import ray
from ray.exceptions import RayTaskError

T = TypeVar("T")

log = logging.getLogger("fedcredit.compute.ray")


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return fn(*args, **kwargs)


# How this process talks to Ray as a driver: no dashboard, and Ray's own logging left alone.
_DRIVER_OPTIONS: dict[str, Any] = {
    "include_dashboard": False,
    "log_to_driver": False,
    "configure_logging": False,
}


def _startup_log_tail(temp_dir: str, lines: int = 5) -> str:
    """The last lines Ray's control store wrote, to say why a start failed ("" if none)."""
    tails = []
    for log_file in sorted(Path(temp_dir).glob("session_*/logs/gcs_server.*")):
        text = log_file.read_text(errors="replace").strip().splitlines()[-lines:]
        if text:
            tails.append(f"{log_file.name}: " + " | ".join(text))
    return ("; " + "; ".join(tails)) if tails else ""


class _RayFuture(Future[Any]):
    """A future for one Ray task; cancelling it also cancels the task (best effort)."""

    def __init__(self, ref: ray.ObjectRef[Any]) -> None:
        super().__init__()
        self.ref = ref

    def cancel(self) -> bool:
        if not super().cancel():
            return False
        with contextlib.suppress(Exception):  # already finished or its worker is gone
            ray.cancel(self.ref)
        return True


class RayExecutor(Executor):
    """Runs submitted tasks as Ray tasks, one CPU each.

    Parameters
    ----------
    address
        The cluster to join (``"auto"``, ``"HOST:6379"``, ``"ray://HOST:10001"``). ``None``
        starts a local Ray instance for this executor, with ``num_cpus`` CPUs, and stops it
        on ``shutdown``.
    num_cpus
        CPUs of a local instance (``None``: Ray counts them). Ignored with ``address``.

    Exceptions a task raises reach the caller as themselves (not wrapped in Ray's error
    type), exactly as from a process pool.
    """

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        self._owns = not ray.is_initialized()
        self._temp_dir: str | None = None
        if self._owns:
            if address is None:
                self._start_local(num_cpus)
            else:
                ray.init(address=address, **_DRIVER_OPTIONS)
        self._task = ray.remote(num_cpus=1, max_retries=0)(_call)
        self._lock = threading.Lock()
        self._pending: set[_RayFuture] = set()
        self._closed = False

    def _start_local(self, num_cpus: int | None) -> None:
        """Start a private Ray instance, retrying once: a loaded machine can miss Ray's wait.

        The instance gets its own temporary folder rather than the shared ``/tmp/ray``, so
        sessions left there by other programs cannot interfere and nothing of ours stays behind.
        """
        # Ray waits 30 s for its control store to publish a port; on a machine busy with other
        # work that start can take longer, and failing then helps nobody.
        os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "120")
        for attempt in (1, 2):
            self._temp_dir = tempfile.mkdtemp(prefix="fcray-")  # short: Ray's socket paths
            try:
                ray.init(
                    num_cpus=num_cpus,
                    _temp_dir=self._temp_dir,
                    # Ray renices its workers to 15 so that its daemons stay responsive; here
                    # the workers do the node's bulk crypto, which must not lose the CPU to
                    # every other process as local worker processes (niceness 0) would not. A
                    # cluster joined by address keeps its own setting (``RAY_worker_niceness``).
                    _system_config={"worker_niceness": 0},
                    **_DRIVER_OPTIONS,
                )
                return
            except RuntimeError as exc:
                detail = _startup_log_tail(self._temp_dir)
                with contextlib.suppress(Exception):
                    ray.shutdown()
                self._remove_temp_dir()
                if attempt == 2:
                    raise RuntimeError(
                        f"could not start a local Ray instance ({exc}){detail}; check free "
                        "memory and disk, or run the node with compute: {engine: local}"
                    ) from exc
                log.warning("local Ray instance did not start (%s)%s; retrying once", exc, detail)

    def _remove_temp_dir(self) -> None:
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to a RayExecutor after shutdown")
            future = _RayFuture(self._task.remote(fn, args, kwargs))
            self._pending.add(future)
        future.ref.future().add_done_callback(lambda done: self._settle(future, done))
        return future

    def _settle(self, future: _RayFuture, done: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)
        if not future.set_running_or_notify_cancel():
            return  # cancelled by its caller: drop the result
        exc = done.exception()
        if exc is None:
            future.set_result(done.result())
        elif isinstance(exc, RayTaskError) and exc.cause is not None:
            future.set_exception(exc.cause)
        else:
            future.set_exception(exc)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            pending = list(self._pending)
        if cancel_futures:
            for future in pending:
                future.cancel()
        if wait:
            for future in pending:
                with contextlib.suppress(BaseException):
                    future.exception()
        if self._owns and ray.is_initialized():
            ray.shutdown()
        self._remove_temp_dir()
