"""Detection of several worker processes (``webhook_guard._workers``).

- Unit tests: ``detect_from`` on fake processes, frames, command lines, environments and
  modules, shaped like what gunicorn, uvicorn, hypercorn, granian and uWSGI leave in a
  worker process.
- The stack walk on real frames: a server object on this thread's stack or another's.
- Real servers on 127.0.0.1 serving ``tests/workers/app.py`` (a guard with the default
  memory store, no logging configured): with two workers the warning is on the server's
  own stderr, once per process that built the guard; with one worker it is not, even
  with ``WEB_CONCURRENCY=4`` in the environment.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import free_port
from webhook_guard import Guard, Route, _workers
from webhook_guard._workers import Workers, detect, detect_from, several_processes
from webhook_guard.exceptions import WebhookGuardWarning
from webhook_guard.providers import github

ROOT = Path(__file__).resolve().parent.parent
WARNING = "protects one process only"


# -- fakes ---------------------------------------------------------------------------------


def fake(qualified: str, **attrs: Any) -> Any:
    """An object whose class is ``qualified`` (``module.Name``), with ``attrs`` set."""
    module, _, name = qualified.rpartition(".")
    obj = type(name, (), {"__module__": module, "__qualname__": name})()
    for key, value in attrs.items():
        setattr(obj, key, value)
    return obj


@dataclass
class Frame:
    module: str
    scope: dict[str, Any]

    @property
    def f_globals(self) -> Mapping[str, Any]:
        return {"__name__": self.module}

    @property
    def f_locals(self) -> Mapping[str, Any]:
        return self.scope


@dataclass
class Process:
    name: str = "MainProcess"
    kwargs: dict[str, Any] | None = None

    def __getattr__(self, attr: str) -> Any:
        if attr == "_kwargs" and self.kwargs is not None:
            return self.kwargs
        raise AttributeError(attr)


@dataclass
class Inputs:
    process: object = field(default_factory=Process)
    frames: list[Frame] = field(default_factory=list)
    argv: list[str] = field(default_factory=lambda: ["app.py"])
    environ: dict[str, str] = field(default_factory=dict)
    modules: Mapping[str, object] = field(default_factory=dict)

    def detect(self) -> Workers | None:
        return detect_from(
            process=self.process,
            frames=lambda: self.frames,
            argv=self.argv,
            environ=self.environ,
            modules=self.modules,
        )


def uvicorn_child(workers: int, *, reload: bool = False) -> Process:
    config = fake("uvicorn.config.Config", workers=workers, should_reload=reload)
    return Process("SpawnProcess-1", {"config": config, "target": None, "sockets": []})


def hypercorn_child(workers: int) -> Process:
    config = fake("hypercorn.config.Config", workers=workers)
    return Process("SpawnProcess-1", {"config": config, "shutdown_event": None})


def gunicorn_frames(*, num_workers: int | None = None, workers: object = 2) -> list[Frame]:
    cfg = fake("gunicorn.config.Config", workers=workers)
    worker = fake("gunicorn.workers.sync.SyncWorker", cfg=cfg)
    frames = [Frame("gunicorn.workers.base", {"self": worker})]
    if num_workers is not None:
        arbiter = fake("gunicorn.arbiter.Arbiter", cfg=cfg, num_workers=num_workers)
        frames.append(Frame("gunicorn.arbiter", {"self": arbiter, "worker": worker}))
    return frames


GUNICORN: dict[str, object] = {"gunicorn": ModuleType("gunicorn")}
GRANIAN: dict[str, object] = {"granian": ModuleType("granian")}
UVICORN: dict[str, object] = {"uvicorn": ModuleType("uvicorn")}
HYPERCORN: dict[str, object] = {"hypercorn": ModuleType("hypercorn")}
GRANIAN_WORKER = Process("granian-worker", {})


def granian_argv(*args: str, program: str = "/usr/local/bin/granian") -> list[str]:
    return [program, "--interface", "asgi", *args, "app:app"]


# -- detect_from ---------------------------------------------------------------------------

CASES = [
    pytest.param(Inputs(), None, id="nothing-to-go-on"),
    # uvicorn and hypercorn children carry the server's Config in their process arguments
    pytest.param(Inputs(uvicorn_child(2)), Workers("uvicorn", 2), id="uvicorn-workers"),
    pytest.param(
        Inputs(uvicorn_child(3, reload=True), environ={"WEB_CONCURRENCY": "4"}),
        Workers("uvicorn", 1),
        id="uvicorn-reload-is-one-process",
    ),
    pytest.param(Inputs(hypercorn_child(3)), Workers("hypercorn", 3), id="hypercorn-workers"),
    pytest.param(
        Inputs(hypercorn_child(1), environ={"WEB_CONCURRENCY": "4"}),
        Workers("hypercorn", 1),
        id="hypercorn-one-worker-beats-web-concurrency",
    ),
    pytest.param(
        Inputs(Process("SpawnProcess-1", {"config": fake("myapp.config.Config", workers=4)})),
        None,
        id="someone-elses-config",
    ),
    # gunicorn: the arbiter and the worker are on the main thread's stack
    pytest.param(
        Inputs(frames=gunicorn_frames(num_workers=2), modules=GUNICORN),
        Workers("gunicorn", 2),
        id="gunicorn-arbiter",
    ),
    pytest.param(
        Inputs(frames=gunicorn_frames(workers=3), modules=GUNICORN),
        Workers("gunicorn", 3),
        id="gunicorn-worker-config",
    ),
    pytest.param(
        Inputs(frames=gunicorn_frames(num_workers=4, workers=2), modules=GUNICORN),
        Workers("gunicorn", 4),
        id="gunicorn-after-ttin",
    ),
    pytest.param(
        Inputs(
            frames=gunicorn_frames(num_workers=1, workers=1),
            environ={"WEB_CONCURRENCY": "4"},
            modules=GUNICORN,
        ),
        Workers("gunicorn", 1),
        id="gunicorn-one-worker-beats-web-concurrency",
    ),
    pytest.param(
        Inputs(frames=gunicorn_frames(workers=True), modules=GUNICORN),
        None,
        id="gunicorn-bool-is-not-a-count",
    ),
    pytest.param(
        Inputs(frames=gunicorn_frames(num_workers=2)),
        None,
        id="gunicorn-frames-without-gunicorn-imported",
    ),
    pytest.param(
        Inputs(
            frames=[
                Frame(
                    "uvicorn.server",
                    {
                        "self": fake(
                            "uvicorn.server.Server", config=fake("uvicorn.config.Config", workers=1)
                        )
                    },
                ),
                Frame("uvicorn.config", {"self": fake("uvicorn.config.Config", workers=1)}),
                *gunicorn_frames(num_workers=2),
            ],
            modules={**GUNICORN, **UVICORN},
        ),
        Workers("gunicorn", 2),
        id="gunicorn-with-uvicorn-worker-class",
    ),
    pytest.param(
        Inputs(
            frames=[Frame("myapp.server", {"self": fake("myapp.server.Arbiter", num_workers=4)})],
            modules=GUNICORN,
        ),
        None,
        id="not-a-server-frame",
    ),
    # granian: forked workers have the server object on their stack
    pytest.param(
        Inputs(
            frames=[
                Frame(
                    "granian.server.common", {"self": fake("granian.server.mp.MPServer", workers=2)}
                )
            ],
            modules=GRANIAN,
        ),
        Workers("granian", 2),
        id="granian-forked-worker",
    ),
    pytest.param(
        Inputs(
            frames=[
                Frame(
                    "granian.server.common", {"self": fake("granian.server.mt.MTServer", workers=4)}
                )
            ],
            environ={"WEB_CONCURRENCY": "4"},
            modules=GRANIAN,
        ),
        Workers("granian", 1),
        id="granian-thread-workers-are-one-process",
    ),
    # uvicorn or hypercorn running the app in their own process
    pytest.param(
        Inputs(
            frames=[Frame("uvicorn.main", {"config": fake("uvicorn.config.Config", workers=1)})],
            environ={"WEB_CONCURRENCY": "4"},
            modules=UVICORN,
        ),
        Workers("uvicorn", 1),
        id="uvicorn-in-process-beats-web-concurrency",
    ),
    pytest.param(
        Inputs(
            frames=[
                Frame(
                    "hypercorn.asyncio.run", {"config": fake("hypercorn.config.Config", workers=0)}
                )
            ],
            modules=HYPERCORN,
        ),
        Workers("hypercorn", 1),
        id="hypercorn-in-process",
    ),
    # granian workers started with spawn (Python 3.14): the inherited command line
    pytest.param(
        Inputs(GRANIAN_WORKER, argv=granian_argv("--workers", "3")),
        Workers("granian", 3),
        id="granian-spawned-workers-flag",
    ),
    pytest.param(
        Inputs(GRANIAN_WORKER, argv=granian_argv("--workers=4")),
        Workers("granian", 4),
        id="granian-spawned-workers-equals",
    ),
    pytest.param(
        Inputs(GRANIAN_WORKER, argv=granian_argv("--workers", "2", "--workers", "5")),
        Workers("granian", 5),
        id="granian-spawned-last-flag-wins",
    ),
    pytest.param(
        Inputs(GRANIAN_WORKER, argv=granian_argv(), environ={"GRANIAN_WORKERS": "2"}),
        Workers("granian", 2),
        id="granian-spawned-environment",
    ),
    pytest.param(
        Inputs(
            GRANIAN_WORKER,
            argv=granian_argv("--workers", "1"),
            environ={"GRANIAN_WORKERS": "2", "WEB_CONCURRENCY": "4"},
        ),
        Workers("granian", 1),
        id="granian-spawned-flag-beats-environment",
    ),
    pytest.param(
        Inputs(
            GRANIAN_WORKER,
            argv=granian_argv(
                "--workers", "3", program="/venv/lib/python3.14/site-packages/granian/__main__.py"
            ),
        ),
        Workers("granian", 3),
        id="granian-spawned-python-m",
    ),
    pytest.param(
        Inputs(GRANIAN_WORKER, argv=granian_argv("--workers", "two")),
        None,
        id="granian-spawned-bad-count",
    ),
    pytest.param(
        Inputs(GRANIAN_WORKER, argv=["serve.py", "--workers", "3"]),
        None,
        id="granian-embedded-in-a-script",
    ),
    pytest.param(
        Inputs(Process("SpawnProcess-1", {}), argv=granian_argv("--workers", "3")),
        None,
        id="granian-command-line-but-not-its-worker",
    ),
    # uWSGI exposes its worker count in the uwsgi module
    pytest.param(
        Inputs(modules={"uwsgi": fake("builtins.module", numproc=4)}),
        Workers("uWSGI", 4),
        id="uwsgi-processes",
    ),
    pytest.param(
        Inputs(
            modules={"uwsgi": fake("builtins.module", numproc=1)}, environ={"WEB_CONCURRENCY": "4"}
        ),
        Workers("uWSGI", 1),
        id="uwsgi-one-process-beats-web-concurrency",
    ),
    # any other server
    pytest.param(
        Inputs(environ={"WEB_CONCURRENCY": "4"}),
        Workers("WEB_CONCURRENCY", 4),
        id="web-concurrency",
    ),
    pytest.param(
        Inputs(environ={"WEB_CONCURRENCY": " 2 "}),
        Workers("WEB_CONCURRENCY", 2),
        id="web-concurrency-spaces",
    ),
    pytest.param(
        Inputs(environ={"WEB_CONCURRENCY": "1"}), None, id="web-concurrency-one-cannot-tell"
    ),
    pytest.param(Inputs(environ={"WEB_CONCURRENCY": ""}), None, id="web-concurrency-empty"),
    pytest.param(Inputs(environ={"WEB_CONCURRENCY": "-2"}), None, id="web-concurrency-negative"),
    pytest.param(
        Inputs(environ={"WEB_CONCURRENCY": "\u0664"}), None, id="web-concurrency-non-ascii-digit"
    ),
    pytest.param(Inputs(environ={"WEB_CONCURRENCY": "9" * 40}), None, id="web-concurrency-huge"),
]


@pytest.mark.parametrize(("inputs", "expected"), CASES)
def test_detect_from(inputs: Inputs, expected: Workers | None) -> None:
    assert inputs.detect() == expected


class Boom:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(name)


class BoomEnviron(dict[str, str]):
    def get(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("environ")


def test_a_failing_source_means_cannot_tell_for_that_source_only() -> None:
    def frames() -> list[Frame]:
        raise RuntimeError("frames")

    kwargs: dict[str, Any] = {
        "process": Boom(),
        "frames": frames,
        "argv": Boom(),
        "modules": {"uwsgi": Boom(), **GUNICORN},
    }
    assert detect_from(environ={"WEB_CONCURRENCY": "3"}, **kwargs) == Workers("WEB_CONCURRENCY", 3)
    assert detect_from(environ=BoomEnviron(), **kwargs) is None


def test_detect_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> None:
        raise RuntimeError("no frames here")

    monkeypatch.setattr(sys, "_current_frames", boom)
    monkeypatch.setitem(sys.modules, "multiprocessing", Boom())
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    assert detect() == Workers("WEB_CONCURRENCY", 5)
    assert several_processes() == "WEB_CONCURRENCY is 5"


@pytest.mark.parametrize(
    ("found", "reason"),
    [
        pytest.param(Workers("gunicorn", 2), "gunicorn runs 2 worker processes", id="several"),
        pytest.param(Workers("WEB_CONCURRENCY", 4), "WEB_CONCURRENCY is 4", id="web-concurrency"),
        pytest.param(Workers("uvicorn", 1), None, id="one-process"),
        pytest.param(None, None, id="cannot-tell"),
    ],
)
def test_several_processes(
    monkeypatch: pytest.MonkeyPatch, found: Workers | None, reason: str | None
) -> None:
    monkeypatch.setattr(_workers, "detect", lambda: found)
    assert several_processes() == reason


# -- the stack walk on real frames ---------------------------------------------------------

#: Compiled as if it were part of gunicorn: ``serve`` keeps a worker on its stack and calls
#: ``then`` from ``depth`` frames further in, as a worker process calls into the app.
FAKE_GUNICORN = """
def serve(self, depth, then):
    return descend(depth, then)

def descend(depth, then):
    return descend(depth - 1, then) if depth else then()
"""


def gunicorn_serve(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    if "gunicorn" not in sys.modules:
        monkeypatch.setitem(sys.modules, "gunicorn", ModuleType("gunicorn"))
    namespace: dict[str, Any] = {"__name__": "gunicorn.workers.fake"}
    exec(compile(FAKE_GUNICORN, "<fake gunicorn>", "exec"), namespace)  # noqa: S102
    serve: Callable[..., Any] = namespace["serve"]
    return serve


def a_worker(workers: int) -> Any:
    return fake(
        "gunicorn.workers.sync.SyncWorker", cfg=fake("gunicorn.config.Config", workers=workers)
    )


def test_guard_built_inside_a_gunicorn_worker_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    serve = gunicorn_serve(monkeypatch)

    def build() -> Guard:
        return Guard([Route("/hooks/github", github(secret="stack-walk-secret-0123456789"))])

    with pytest.warns(WebhookGuardWarning, match=f"{WARNING}, but gunicorn runs 3 worker"):
        serve(a_worker(3), 0, build)
    assert serve(a_worker(1), 0, several_processes) is None


def test_stack_walk_reads_other_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A guard built lazily in a request thread (gunicorn gthread): the worker is on the
    main thread's stack, not on this one's."""
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    serve = gunicorn_serve(monkeypatch)
    inside, leave = threading.Event(), threading.Event()

    def wait() -> None:
        inside.set()
        leave.wait(timeout=10)

    thread = threading.Thread(target=serve, args=(a_worker(2), 0, wait))
    thread.start()
    try:
        assert inside.wait(timeout=10)
        assert detect() == Workers("gunicorn", 2)
    finally:
        leave.set()
        thread.join(timeout=10)
    assert detect() is None


def test_stack_walk_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    serve = gunicorn_serve(monkeypatch)
    monkeypatch.setattr(_workers, "MAX_DEPTH", 20)
    assert serve(a_worker(2), 5, detect) == Workers("gunicorn", 2)
    assert serve(a_worker(2), 30, detect) is None  # the worker is below the walk's depth


# -- real servers --------------------------------------------------------------------------

START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0

#: Granian forks its workers unless the start method is spawn (the default from Python
#: 3.14 on); this runs its command line with spawn, as on 3.14.
GRANIAN_SPAWN = (
    "import multiprocessing, sys; multiprocessing.set_start_method('spawn'); "
    "sys.argv = ['granian', *sys.argv[1:]]; from granian.cli import entrypoint; entrypoint()"
)


def command(server: str, workers: int, port: int) -> list[str]:
    python = [sys.executable, "-m"]
    bind = f"127.0.0.1:{port}"
    n = str(workers)
    if server == "gunicorn":
        return [*python, "gunicorn", "-w", n, "-b", bind, "tests.workers.app:wsgi_app"]
    if server == "gunicorn-preload":
        return [*python, "gunicorn", "-w", n, "--preload", "-b", bind, "tests.workers.app:wsgi_app"]
    if server == "uvicorn":
        return [
            *python, "uvicorn", "--workers", n, "--host", "127.0.0.1", "--port", str(port),
            "--timeout-graceful-shutdown", "1", "tests.workers.app:asgi_app",
        ]  # fmt: skip
    if server == "hypercorn":
        return [*python, "hypercorn", "--workers", n, "--bind", bind, "tests.workers.app:asgi_app"]
    granian = [
        "--interface", "asgi", "--workers", n, "--host", "127.0.0.1", "--port", str(port),
        "tests.workers.app:asgi_app",
    ]  # fmt: skip
    if server == "granian":
        return [*python, "granian", *granian]
    assert server == "granian-spawn"
    return [sys.executable, "-c", GRANIAN_SPAWN, *granian]


@dataclass
class Run:
    output: str
    built: int  # processes that built the guard


def run_until_built(tmp_path: Path, server: str, workers: int, *, env: dict[str, str]) -> Run:
    """Start ``server``, wait until ``expected`` processes have built the guard, stop it."""
    marks = tmp_path / "marks"
    marks.mkdir()
    output = tmp_path / "stderr.log"
    expected = 1 if server == "gunicorn-preload" else workers
    full_env = {
        k: v for k, v in os.environ.items() if k not in ("WEB_CONCURRENCY", "PYTHONWARNINGS")
    }
    full_env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        WG_WORKERS_MARKS=str(marks),
        **env,
    )
    with output.open("wb") as err:
        process = subprocess.Popen(
            command(server, workers, free_port()),
            cwd=ROOT,
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while len(list(marks.iterdir())) < expected:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"{server}: {len(list(marks.iterdir()))} of {expected} processes "
                    f"built the guard:\n{output.read_text()[-3000:]}"
                )
            time.sleep(0.05)
        assert process.poll() is None
    finally:
        stop(process)
    return Run(output.read_text(), len(list(marks.iterdir())))


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's pid, then SIGKILL to its own process group (its workers)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(timeout=STOP_TIMEOUT)


SERVERS = ["gunicorn", "gunicorn-preload", "uvicorn", "hypercorn", "granian", "granian-spawn"]


def requires(server: str) -> None:
    pytest.importorskip(server.partition("-")[0])


@pytest.mark.server
@pytest.mark.parametrize("server", SERVERS)
def test_several_workers_warn_on_the_servers_stderr(tmp_path: Path, server: str) -> None:
    requires(server)
    run = run_until_built(tmp_path, server, 2, env={})
    name = server.partition("-")[0]
    line = f"WebhookGuardWarning: webhook_guard: the in-memory replay store {WARNING}, but {name} runs 2 worker processes"
    # each process that built the guard says it once (with --preload: the master only)
    assert run.output.count(line) == run.built == (1 if server == "gunicorn-preload" else 2), (
        run.output
    )


@pytest.mark.server
@pytest.mark.parametrize("server", ["gunicorn", "uvicorn", "hypercorn", "granian"])
def test_one_worker_does_not_warn(tmp_path: Path, server: str) -> None:
    requires(server)
    # WEB_CONCURRENCY would say 4; the server itself says one process, and it is right
    run = run_until_built(tmp_path, server, 1, env={"WEB_CONCURRENCY": "4"})
    assert run.built == 1
    assert WARNING not in run.output, run.output
