"""Real Redis topologies on 127.0.0.1 for the Sentinel and Cluster tests.

Every process is started here on free ports in a temporary directory, waited for with
bounded polling, and stopped by its pid (``kill`` for a crash, ``stop`` to clean up).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import free_port

#: Seconds any single start-up step may take before the test fails.
START_DEADLINE = 20.0
SERVICE = "mymaster"
#: Password of the data nodes (master, replica, cluster nodes).
PASSWORD = "data-node-pw-0123"
#: Password of the Sentinel processes themselves (Sentinel's own ``requirepass``).
SENTINEL_PASSWORD = "sentinel-pw-4567"
#: Sentinel's failure detection: small so a failover takes seconds, not a minute.
DOWN_AFTER_MS = 500
FAILOVER_TIMEOUT_MS = 2000


def binary(name: str) -> str:
    """The path of ``name``; skip (or fail, when Redis is required) where it is missing."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("WEBHOOK_GUARD_REQUIRE_REDIS"):
            pytest.fail(f"{name} is required (WEBHOOK_GUARD_REQUIRE_REDIS is set) but missing")
        pytest.skip(f"{name} not installed: apt-get install redis-server")
    return found


def wait_until(what: str, check: Callable[[], bool], deadline: float = START_DEADLINE) -> None:
    """Poll ``check`` (bounded) until it is true; a failing check counts as false."""
    end = time.monotonic() + deadline
    while True:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > end:
            raise RuntimeError(f"timed out after {deadline} s waiting for {what}")
        time.sleep(0.05)


class RedisProcess:
    """One redis-server (data node or Sentinel) started from a config file."""

    def __init__(self, directory: Path, name: str, lines: list[str], password: str) -> None:
        self.name = name
        self.port = free_port()
        self.password = password
        self.dir = directory / name
        self.dir.mkdir()
        self.config = self.dir / "redis.conf"
        self.lines = [
            f"port {self.port}",
            "bind 127.0.0.1",
            f"dir {self.dir}",
            f"logfile {self.dir / 'log.txt'}",
            *lines,
        ]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, *extra: str) -> None:
        self.config.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        self.process = subprocess.Popen(
            [binary("redis-server"), str(self.config), *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(f"{self.name} on port {self.port}", lambda: bool(self.command("PING")))

    def client(self, **options: Any) -> redis.Redis:
        options.setdefault("socket_timeout", 1.0)
        return redis.Redis(port=self.port, password=self.password, **options)

    def command(self, *args: Any) -> Any:
        client = self.client()
        try:
            return client.execute_command(*args)
        finally:
            client.close()

    def info(self, section: str) -> dict[str, Any]:
        client = self.client()
        try:
            return dict(client.info(section))
        finally:
            client.close()

    def kill(self) -> None:
        """Crash it: SIGKILL, no shutdown, no final replication."""
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


def _data_node_lines(*extra: str) -> list[str]:
    return [
        'save ""',
        "appendonly no",
        "maxmemory-policy noeviction",
        f"requirepass {PASSWORD}",
        f"masterauth {PASSWORD}",
        "repl-diskless-sync-delay 0",
        *extra,
    ]


class SentinelTopology:
    """A master, one replica and one Sentinel (quorum 1), all password-protected."""

    def __init__(self, directory: Path) -> None:
        self.master = RedisProcess(directory, "master", _data_node_lines(), PASSWORD)
        self.replica = RedisProcess(
            directory,
            "replica",
            _data_node_lines(f"replicaof 127.0.0.1 {self.master.port}"),
            PASSWORD,
        )
        self.sentinel = RedisProcess(
            directory,
            "sentinel",
            [
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.master.port} 1",
                f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}",
                f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}",
                f"sentinel auth-pass {SERVICE} {PASSWORD}",
                f"requirepass {SENTINEL_PASSWORD}",
            ],
            SENTINEL_PASSWORD,
        )

    @property
    def processes(self) -> list[RedisProcess]:
        return [self.master, self.replica, self.sentinel]

    def start(self) -> None:
        self.master.start()
        self.replica.start()
        wait_until(
            "the replica to sync",
            lambda: self.replica.info("replication").get("master_link_status") == "up",
        )
        # Started last: its first INFO of the master already lists the replica (the next
        # one would come 10 s later).
        self.sentinel.start("--sentinel")
        wait_until("the Sentinel to know the replica", self._sentinel_sees_replica)

    def _sentinel_sees_replica(self) -> bool:
        client = self.sentinel.client()
        try:
            replicas = client.sentinel_slaves(SERVICE)
        finally:
            client.close()
        return any(
            r["port"] == self.replica.port
            and r["master-link-status"] == "ok"
            and not (r["is_sdown"] or r["is_odown"])
            for r in replicas
        )

    def master_port(self) -> int:
        """The master's port as the Sentinel reports it now."""
        _host, port = self.sentinel.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
        return int(port)

    def node(self, port: int) -> RedisProcess:
        return next(p for p in (self.master, self.replica) if p.port == port)

    def flush(self) -> None:
        client = self.node(self.master_port()).client()
        try:
            client.flushall()
            client.execute_command("WAIT", 1, 2000)
        finally:
            client.close()

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", self.sentinel.port)]

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


class ClusterTopology:
    """Three cluster masters (no replicas) joined by ``redis-cli --cluster create``."""

    def __init__(self, directory: Path, *, node_timeout_ms: int = 1000) -> None:
        self.nodes = [
            RedisProcess(
                directory,
                f"node{i}",
                _data_node_lines(
                    "cluster-enabled yes",
                    "cluster-config-file nodes.conf",
                    f"cluster-node-timeout {node_timeout_ms}",
                    # Redis 7: the cluster bus port is chosen too (port+10000 may be taken)
                    f"cluster-port {free_port()}",
                ),
                PASSWORD,
            )
            for i in range(3)
        ]

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        subprocess.run(
            [
                binary("redis-cli"),
                "-a",
                PASSWORD,
                "--no-auth-warning",
                "--cluster",
                "create",
                *(f"127.0.0.1:{node.port}" for node in self.nodes),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=START_DEADLINE,
        )
        for node in self.nodes:
            wait_until(
                f"{node.name} to see the cluster ok",
                lambda node=node: (
                    node.info("cluster").get("cluster_enabled") == 1
                    and b"cluster_state:ok" in node.command("CLUSTER", "INFO")
                ),
            )

    @property
    def startup(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", node.port) for node in self.nodes]

    def url(self, *, password: str = PASSWORD, query: str = "") -> str:
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)
        return f"redis+cluster://:{password}@{hosts}" + (f"?{query}" if query else "")

    def key_counts(self) -> list[int]:
        return [int(node.command("DBSIZE")) for node in self.nodes]

    def state_ok(self) -> bool:
        return all(b"cluster_state:ok" in node.command("CLUSTER", "INFO") for node in self.nodes)

    def flush(self) -> None:
        for node in self.nodes:
            node.command("FLUSHALL")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@contextmanager
def sentinel_topology() -> Iterator[SentinelTopology]:
    binary("redis-server")
    directory = Path(tempfile.mkdtemp(prefix="wg-sentinel-"))
    topology = SentinelTopology(directory)
    try:
        topology.start()
        yield topology
    finally:
        topology.stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def cluster_topology(*, node_timeout_ms: int = 1000) -> Iterator[ClusterTopology]:
    binary("redis-server")
    binary("redis-cli")
    directory = Path(tempfile.mkdtemp(prefix="wg-cluster-"))
    topology = ClusterTopology(directory, node_timeout_ms=node_timeout_ms)
    try:
        topology.start()
        yield topology
    finally:
        topology.stop()
        shutil.rmtree(directory, ignore_errors=True)


def sentinel_url(
    topology: SentinelTopology,
    *,
    password: str = PASSWORD,
    sentinel_password: str = SENTINEL_PASSWORD,
    hosts: str | None = None,
) -> str:
    """The ``redis+sentinel://`` URL of ``topology`` (all its Sentinels, database 0)."""
    hosts = hosts or ",".join(f"{host}:{port}" for host, port in topology.sentinels)
    return (
        f"redis+sentinel://:{password}@{hosts}/{SERVICE}/0"
        f"?sentinel_password={sentinel_password}&socket_timeout=1"
    )


def sentinel_client(topology: SentinelTopology, *, asynchronous: bool) -> Any:
    """A master client made the way the redis-py documentation shows."""
    import redis.asyncio.sentinel
    import redis.sentinel

    module = redis.asyncio.sentinel if asynchronous else redis.sentinel
    manager = module.Sentinel(
        topology.sentinels,
        sentinel_kwargs={"password": SENTINEL_PASSWORD, "socket_timeout": 1.0},
        password=PASSWORD,
        socket_timeout=1.0,
    )
    return manager.master_for(SERVICE)


async def close_client(client: Any) -> None:
    """Close a client, and the Sentinel manager behind it (its own connections)."""
    if client is None:
        return
    manager = getattr(getattr(client, "connection_pool", None), "sentinel_manager", None)
    result = client.aclose() if hasattr(client, "aclose") else client.close()
    if result is not None:
        await result
    for sentinel in getattr(manager, "sentinels", ()):
        closed = sentinel.aclose() if hasattr(sentinel, "aclose") else sentinel.close()
        if closed is not None:
            await closed


async def close_store(store: Any) -> None:
    """Close the clients a ``RedisReplayStore`` holds (made from a URL or given)."""
    await close_client(store._async_client)
    await close_client(store._client)


def cluster_client(topology: ClusterTopology, *, asynchronous: bool) -> Any:
    """A ``RedisCluster`` client made the way the redis-py documentation shows."""
    import redis.asyncio.cluster
    import redis.cluster

    module = redis.asyncio.cluster if asynchronous else redis.cluster
    nodes = [module.ClusterNode(host, port) for host, port in topology.startup]
    return module.RedisCluster(startup_nodes=nodes, password=PASSWORD, socket_timeout=1.0)
