"""Pieces of the sync fault tests: a producing edge, subprocess runners, a TCP proxy, the final check."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import Engine

from edge.config import BrokerConfig, DeviceConfig, StoreConfig, SyncConfig
from edge.store import EdgeStore
from edge.sync import SyncClient
from tests.cloud.ingest.support import result_ids, wait_until
from tests.edge.sync.factory import result

REPO = Path(__file__).resolve().parents[2]
SIGNET = [sys.executable, "-c", "from signet.cli import main; main()"]


def edge_store(root: Path) -> EdgeStore:
    return EdgeStore(StoreConfig(path=root / "edge.db", images_dir=root / "images", min_free_mb=0))


def sync_client(store: EdgeStore, port: int, device: str = "dev-1") -> SyncClient:
    cfg = SyncConfig(
        broker=BrokerConfig(port=port, reconnect_min_s=0.1, reconnect_max_s=1.0, keepalive_s=5),
        health_interval_s=1.0,
    )
    return SyncClient(cfg, DeviceConfig(id=device, site="lab"), store)


class Producer(threading.Thread):
    """Stores ``n`` results at ``rate`` per second, like the pipeline would; remembers their ids."""

    def __init__(self, store: EdgeStore, n: int, rate: float, device: str = "dev-1") -> None:
        super().__init__(daemon=True)
        self.store, self.n, self.rate, self.device = store, n, rate, device
        self.ids: list[str] = []

    def run(self) -> None:
        t0 = time.perf_counter()
        for i in range(self.n):
            delay = t0 + i / self.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            r = result(self.device, i)
            self.store.save_result(r)
            self.ids.append(str(r.result_id))


def prefill(store: EdgeStore, n: int, device: str = "dev-1") -> set[str]:
    ids = set()
    for i in range(n):
        r = result(device, i)
        store.save_result(r)
        ids.add(str(r.result_id))
    return ids


def env_for(**settings: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNET_")}
    env.update({f"SIGNET_{k.upper()}": str(v) for k, v in settings.items()})
    env["PYTHONPATH"] = str(REPO)
    return env


def start_edge_sync(root: Path, port: int, *args: str) -> subprocess.Popen[bytes]:
    env = env_for(
        device__id="dev-1", device__site="lab", store__path=root / "edge.db", store__images_dir=root / "images",
        store__min_free_mb=0, sync__broker__port=port, sync__broker__reconnect_min_s=0.1,
        sync__broker__reconnect_max_s=1.0,
    )  # fmt: skip
    return subprocess.Popen(
        [*SIGNET, "edge", "sync", *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def start_ingest(url: str, port: int, client_id: str = "ingest-1") -> subprocess.Popen[bytes]:
    env = env_for(
        database__url=url, ingest__port=port, ingest__client_id=client_id, ingest__batch_size=200,
        ingest__keepalive_s=5,
    )  # fmt: skip
    return subprocess.Popen(
        [*SIGNET, "cloud", "ingest"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def check_exact(
    name: str, engine: Engine, produced: set[str], timeout: float = 90.0, **extra: object
) -> None:
    """Wait for the cloud to hold exactly the produced ids; print the counts; fail otherwise."""
    wait_until(lambda: result_ids(engine) >= produced, timeout=timeout, every=0.25)
    time.sleep(0.5)  # let late duplicates land: they must change nothing
    stored = result_ids(engine)
    missing, extra_ids = produced - stored, stored - produced
    facts = " ".join(f"{k}={v}" for k, v in extra.items())
    print(
        f"\n[{name}] produced={len(produced)} stored={len(stored)} missing={len(missing)} unexpected={len(extra_ids)} {facts}"
    )
    assert not missing, f"{len(missing)} result(s) lost, e.g. {sorted(missing)[:3]}"
    assert not extra_ids, f"{len(extra_ids)} result(s) nobody produced"


class TcpProxy:
    """A TCP forwarder that can be cut (listener and live connections closed) and restored."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = int(s.getsockname()[1])
        s.close()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(64)
        self._listener = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()

    def _accept(self, ls: socket.socket) -> None:
        while True:
            try:
                client, _ = ls.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def stop(self) -> None:
        """The database "goes away": refuse new connections and cut the open ones."""
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would leave it
            # accepting on the old socket, and the database would never really go away.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._conns:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._conns = []
