"""Best-effort detection of a server running this app in several worker processes.

The in-memory replay store protects one process only, so the guard warns when it can
tell that there are several. Detection is a heuristic and never gives an all-clear:
``None`` means "cannot tell", not "one process".

What is looked at, most specific first (each source is read, never imported):

1. A ``multiprocessing`` child started by uvicorn (``--workers`` or ``--reload``) or
   hypercorn: the server's ``Config`` travels in the child's process arguments.
2. The Python stacks of this process's threads: gunicorn (arbiter and workers, with or
   without ``--preload``, any worker class) and granian (forked workers) have their
   server object on the stack of the main thread; uvicorn or hypercorn running the app
   in their own process (one worker) have their ``Config`` there.
3. A granian worker process (``granian-worker``) started with ``spawn`` (Python 3.14):
   ``--workers`` in the command line the worker inherited, then ``GRANIAN_WORKERS``.
4. uWSGI: ``uwsgi.numproc``.
5. ``WEB_CONCURRENCY``, for any other server.

A server identified with one process stops the search, so a stray ``WEB_CONCURRENCY``
does not contradict it. Any exception inside a source means "cannot tell" for it.
"""

from __future__ import annotations

import _thread
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, Protocol

__all__ = ("Workers", "detect", "several_processes")

#: Bounds on the stack walk: it runs once per Guard, so it must stay cheap.
MAX_THREADS = 64
MAX_DEPTH = 256


@dataclass(frozen=True)
class Workers:
    """The server this process belongs to and its number of worker processes."""

    server: str
    count: int

    @property
    def several(self) -> bool:
        return self.count > 1

    def reason(self) -> str:
        if self.server == "WEB_CONCURRENCY":
            return f"WEB_CONCURRENCY is {self.count}"
        return f"{self.server} runs {self.count} worker processes"


class Frame(Protocol):
    """What the stack walk reads of a frame (``types.FrameType`` fits)."""

    @property
    def f_globals(self) -> Mapping[str, Any]: ...

    @property
    def f_locals(self) -> Mapping[str, Any]: ...


def several_processes() -> str | None:
    """Why this process looks like one of several workers, or None when it cannot tell."""
    found = detect()
    return found.reason() if found is not None and found.several else None


def detect() -> Workers | None:
    """The server and worker count this process belongs to, or None when it cannot tell.

    Never raises.
    """
    process: object = None
    argv: list[str] = []
    try:
        mp = sys.modules.get("multiprocessing")
        process = mp.current_process() if mp is not None else None
        argv = list(getattr(sys, "argv", None) or ())  # embedded interpreters may lack it
    except Exception:  # noqa: S110 - best effort: no process information
        pass
    return detect_from(
        process=process, frames=_stack_frames, argv=argv, environ=os.environ, modules=sys.modules
    )


def detect_from(
    *,
    process: object,
    frames: Callable[[], Iterable[Frame]],
    argv: Sequence[str],
    environ: Mapping[str, str],
    modules: Mapping[str, object],
) -> Workers | None:
    """``detect`` on given inputs. ``frames`` is a callable returning the frames to walk."""
    probes: tuple[Callable[[], Workers | None], ...] = (
        lambda: _from_process(process),
        lambda: _from_frames(frames(), modules),
        lambda: _from_granian_argv(process, argv, environ),
        lambda: _from_uwsgi(modules.get("uwsgi")),
        lambda: _from_web_concurrency(environ),
    )
    for probe in probes:
        try:
            found = probe()
        except Exception:  # noqa: S112 - any failure means "cannot tell"
            continue
        if found is not None:
            return found
    return None


# -- the sources -------------------------------------------------------------------------


def _count(value: object) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _kind(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _from_process(process: object) -> Workers | None:
    kwargs = getattr(process, "_kwargs", None)
    config = kwargs.get("config") if isinstance(kwargs, dict) else None
    kind = _kind(config)
    if kind == "uvicorn.config.Config":
        count = _count(getattr(config, "workers", None))
        if count is None:
            return None
        # --reload runs one server process and ignores --workers
        return Workers("uvicorn", 1 if getattr(config, "should_reload", False) else count)
    if kind == "hypercorn.config.Config":
        count = _count(getattr(config, "workers", None))
        return Workers("hypercorn", count) if count is not None else None
    return None


_SERVER_MODULES = ("gunicorn.", "granian.", "uvicorn.", "hypercorn.")


def _from_frames(frames: Iterable[Frame], modules: Mapping[str, object]) -> Workers | None:
    if not any(name.partition(".")[0] in modules for name in _SERVER_MODULES):
        return None
    gunicorn: int | None = None
    other: Workers | None = None
    for frame in frames:
        module = frame.f_globals.get("__name__")
        # f_locals only of the servers' own frames: on Python < 3.13 it snapshots the frame
        if not isinstance(module, str) or not module.startswith(_SERVER_MODULES):
            continue
        found = _from_frame(module, frame.f_locals)
        if found is None:
            continue
        if found.server == "gunicorn":
            # the arbiter's count follows TTIN/TTOU; each worker's config has the start value
            gunicorn = max(gunicorn or 0, found.count)
        elif other is None:
            other = found
    # gunicorn first: its uvicorn worker class also puts uvicorn's Config on the stack
    return Workers("gunicorn", gunicorn) if gunicorn is not None else other


def _from_frame(module: str, scope: Mapping[str, Any]) -> Workers | None:
    this = scope.get("self")
    if module.startswith("gunicorn."):
        counts = [
            _count(getattr(this, "num_workers", None)),
            _count(getattr(getattr(this, "cfg", None), "workers", None)),
        ]
        known = [c for c in counts if c is not None]
        return Workers("gunicorn", max(known)) if known else None
    if module.startswith("granian."):
        kind = _kind(this)
        if kind == "granian.server.mp.MPServer":
            count = _count(getattr(this, "workers", None))
            return Workers("granian", count) if count is not None else None
        if kind == "granian.server.mt.MTServer":  # workers are threads of this process
            return Workers("granian", 1)
        return None
    # uvicorn or hypercorn with the app in this process: a server child (several workers or
    # --reload) was recognised by _from_process, so this is the one process serving
    for candidate in (scope.get("config"), this, getattr(this, "config", None)):
        kind = _kind(candidate)
        if kind == "uvicorn.config.Config":
            return Workers("uvicorn", 1)
        if kind == "hypercorn.config.Config":
            return Workers("hypercorn", 1)
    return None


def _stack_frames() -> Iterator[FrameType]:
    """The frames of every thread's stack (the caller's thread first), bounded."""
    stacks = sys._current_frames()
    mine = stacks.pop(_thread.get_ident(), None)
    for top in [mine, *stacks.values()][:MAX_THREADS]:
        frame: FrameType | None = top
        for _ in range(MAX_DEPTH):
            if frame is None:
                break
            yield frame
            frame = frame.f_back


def _from_granian_argv(
    process: object, argv: Sequence[str], environ: Mapping[str, str]
) -> Workers | None:
    # a spawned worker inherits the parent's sys.argv, but not its server object
    if getattr(process, "name", None) != "granian-worker" or not argv:
        return None
    program = argv[0].replace("\\", "/")
    if not (program.rsplit("/", 1)[-1] == "granian" or program.endswith("granian/__main__.py")):
        return None
    value: str | None = None
    args = iter(argv[1:])
    for arg in args:
        if arg == "--":
            break
        if arg == "--workers":
            value = next(args, None)
        elif arg.startswith("--workers="):
            value = arg.partition("=")[2]
    if value is None:
        value = environ.get("GRANIAN_WORKERS", "1")  # granian's default is one worker
    count = _decimal(value)
    return Workers("granian", count) if count is not None else None


def _from_uwsgi(uwsgi: object) -> Workers | None:
    count = _count(getattr(uwsgi, "numproc", None)) if uwsgi is not None else None
    return Workers("uWSGI", count) if count is not None else None


def _from_web_concurrency(environ: Mapping[str, str]) -> Workers | None:
    count = _decimal(environ.get("WEB_CONCURRENCY"))
    return Workers("WEB_CONCURRENCY", count) if count is not None and count > 1 else None


def _decimal(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 6):
        return None
    return int(value)
