"""Sync benchmark: edge outbox -> Mosquitto -> ingest -> SQLite / PostgreSQL, with baselines.

Mosquitto runs on loopback, started here (a fresh broker per phase). Phases:

1. edge drain: SyncClient empties an outbox of N results (target >= 2,000/s); baseline: the
   naive at-least-once loop (publish one, wait for its PUBACK, mark it sent, next).
2. ingest into SQLite with one worker (target >= 3,000/s); baseline: one message per
   transaction (batch_size=1).
3. ingest into PostgreSQL with one worker (target >= 2,000/s) and two workers (>= 1.7x one).
   Messages are queued on the broker for the workers' persistent sessions first, so the
   phase measures ingest alone.
4. latency: the edge stores results at a steady 500/s; p99 of stored-on-edge -> committed row
   in the cloud (target < 200 ms).

    python bench/sync.py            # default sizes, a few minutes
    python bench/sync.py --full     # 100,000-result ingest phases and a 60 s latency run
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing as mp
import os
import queue
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402

from edge.contract import encode, result_topic  # noqa: E402
from edge.store import outbox  # noqa: E402
from tests.edge.sync.factory import result  # noqa: E402
from tests.support.broker import Broker  # noqa: E402

PG_BASE = os.environ.get("SIGNET_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def payloads(n: int, device: str = "dev-bench") -> list[tuple[str, bytes]]:
    template = json.loads(encode(result(device, 0)))
    out = []
    for _ in range(n):
        template["result_id"] = str(uuid.uuid4())
        out.append((template["result_id"], json.dumps(template).encode()))
    return out


def fill_outbox(db_path: Path, items: list[tuple[str, bytes]], device: str = "dev-bench") -> None:
    conn = sqlite3.connect(str(db_path), isolation_level=None)
    outbox.ensure_schema(conn)
    conn.execute("BEGIN")
    for rid, payload in items:
        outbox.enqueue(conn, "result", rid, result_topic(device), payload)
    conn.execute("COMMIT")
    conn.close()


# -- phase 1: edge drain ---------------------------------------------------------------------
def bench_edge(root: Path, n: int) -> tuple[float, float]:
    from edge.config import BrokerConfig, DeviceConfig, SyncConfig
    from edge.sync import SyncClient

    items = payloads(n)
    broker = Broker(root / "broker-edge")
    broker.start()
    try:
        db = root / "edge.db"
        fill_outbox(db, items)
        cfg = SyncConfig(broker=BrokerConfig(port=broker.port), inflight=256, health_interval_s=3600)
        sync = SyncClient(cfg, DeviceConfig(id="dev-bench", site="bench"), db)
        t0 = time.perf_counter()
        sync.start()
        ok = sync.wait_drained(600)
        ours = n / (time.perf_counter() - t0)
        sync.stop()
        assert ok, "edge did not drain"
        # baseline on a fraction: publish, wait for PUBACK, mark sent, one at a time
        m = max(1000, n // 20)
        db2 = root / "edge-naive.db"
        fill_outbox(db2, items[:m])
        conn = sqlite3.connect(str(db2), isolation_level=None)
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="naive", protocol=mqtt.MQTTv5)
        c.connect("127.0.0.1", broker.port)
        c.loop_start()
        t0 = time.perf_counter()
        while True:
            rows = outbox.claim(conn, 1)
            if not rows:
                break
            c.publish(rows[0].topic, rows[0].payload, qos=1).wait_for_publish(10)
            outbox.mark_sent(conn, [rows[0].seq])
        naive = m / (time.perf_counter() - t0)
        c.loop_stop()
        c.disconnect()
        return ours, naive
    finally:
        broker.stop()


# -- ingest phases ---------------------------------------------------------------------------
def _register(port: int, client_ids: list[str]) -> None:
    """Create the workers' persistent sessions and shared subscriptions, then leave."""
    from cloud.ingest.worker import DIRECT_TOPICS, SHARED_GROUP, SHARED_TOPICS

    for cid in client_ids:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        done = threading.Event()
        c.on_subscribe = lambda *a, _d=done: _d.set()  # type: ignore[misc]
        c.connect("127.0.0.1", port, clean_start=False, properties=props)
        c.loop_start()
        c.subscribe(
            [(f"$share/{SHARED_GROUP}/{t}", 1) for t in SHARED_TOPICS] + [(t, 1) for t in DIRECT_TOPICS]
        )
        assert done.wait(10)
        c.disconnect()
        c.loop_stop()


def _flood(port: int, items: list[tuple[str, bytes]], device: str = "dev-bench") -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="flood", protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(1000)
    c.connect("127.0.0.1", port)
    c.loop_start()
    # MQTT packet ids are 16 bits: more than ~65,000 unacknowledged messages would reuse an id
    # (paho refuses that), so keep at most 20,000 outstanding.
    pending: collections.deque[mqtt.MQTTMessageInfo] = collections.deque()
    for _, p in items:
        if len(pending) >= 20_000:
            pending.popleft().wait_for_publish(60)
        pending.append(c.publish(result_topic(device), p, qos=1))
    for info in pending:
        info.wait_for_publish(60)
    c.loop_stop()
    c.disconnect()


def _worker_proc(port: int, url: str, client_id: str, batch: int, stop_at: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from cloud.config import IngestConfig
    from cloud.db import make_engine
    from cloud.ingest.worker import IngestWorker, tune_gc

    engine = make_engine(url)
    w = IngestWorker(IngestConfig(port=port, client_id=client_id, batch_size=batch, batch_wait_ms=20), engine)
    tune_gc()  # as `signet cloud ingest` does
    w.start()
    while w.stats.received < stop_at:
        time.sleep(0.02)
    deadline = time.monotonic() + 5
    while (
        w.stats.received > w.stats.stored + w.stats.duplicates + w.stats.dead_letters
        and time.monotonic() < deadline
    ):
        time.sleep(0.02)
    w.stop()
    out.put((client_id, w.stats.stored, w.stats.received, w.stats.batches))


def _count(engine) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM pages")).scalar() or 0)


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine from /proc/stat (Linux), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            vals = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
    return sum(vals[:8]) - idle, sum(vals[:8])


def busy_cores(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float:
    """Cores kept busy between two ``_cpu_ticks`` readings (everything on the machine: workers,
    broker, database, this process); NaN where /proc/stat is not there."""
    if before is None or after is None or after[1] <= before[1]:
        return float("nan")
    return (after[0] - before[0]) / (after[1] - before[1]) * (os.cpu_count() or 1)


def bench_ingest(
    root: Path, name: str, url: str, n: int, workers: int, batch: int = 500
) -> tuple[float, float]:
    """Queue n results for ``workers`` sessions, then time the workers storing them all.

    Returns (results per second, cores the machine kept busy meanwhile)."""
    from cloud.db import make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    broker = Broker(root / f"broker-{name}")
    broker.start()
    try:
        ids = [f"ingest-{i + 1}" for i in range(workers)]
        _register(broker.port, ids)
        _flood(broker.port, payloads(n))
        ctx = mp.get_context("spawn")
        out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        # every worker stops once the table has all n rows (the split is the broker's)
        procs = [ctx.Process(target=_worker_proc, args=(broker.port, url, cid, batch, n, out)) for cid in ids]
        t0 = time.perf_counter()
        ticks0 = _cpu_ticks()
        for p in procs:
            p.start()
        # count(*) over a growing table costs the database real work: poll twice a second, not
        # twenty times (at 100,000 rows the polling itself slowed PostgreSQL ingest measurably),
        # except over the last tenth, where a half-second step would quantise a short phase's
        # rate by several percent.
        while (stored := _count(engine)) < n:
            if time.perf_counter() - t0 > 900:
                raise RuntimeError(f"{name}: only {stored} of {n} stored after 900 s")
            time.sleep(0.05 if stored >= 0.9 * n else 0.5)
        rate = n / (time.perf_counter() - t0)
        busy = busy_cores(ticks0, _cpu_ticks())
        if workers == 1:  # it stops by itself at n and reports its batches
            try:
                _cid, _stored, received, batches = out.get(timeout=15)
                print(
                    f"  {name}: {received:,} received in {batches:,} batches ({received / max(batches, 1):.0f} per batch)"
                )
            except queue.Empty:
                pass
        for p in procs:
            p.terminate()
            p.join(10)
        return rate, busy
    finally:
        engine.dispose()
        broker.stop()


def _pg_db() -> str:
    import psycopg

    name = "signet_bench_" + uuid.uuid4().hex[:8]
    with psycopg.connect(PG_BASE, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return PG_BASE.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name


def _pg_drop(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_BASE, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- phase 4: latency ------------------------------------------------------------------------
def _latency_worker(port: int, url: str, out: mp.Queue, stop: mp.Event) -> None:  # type: ignore[type-arg]
    from cloud.config import IngestConfig
    from cloud.db import make_engine
    from cloud.ingest.worker import IngestWorker, tune_gc

    engine = make_engine(url)
    w = IngestWorker(
        IngestConfig(port=port, client_id="ingest-lat"),
        engine,
        on_commit=lambda ids: out.put((time.time(), ids)),
    )
    tune_gc()  # as `signet cloud ingest` does
    w.start()
    stop.wait()
    w.stop()


def bench_latency(root: Path, rate: float, seconds: float) -> tuple[float, float, int]:
    """The edge (this process) stores results at ``rate``; one ingest worker (another process,
    as deployed) commits them; latency = commit time - time the edge stored the result."""
    from cloud.db import make_engine, upgrade
    from edge.config import BrokerConfig, DeviceConfig, StoreConfig, SyncConfig
    from edge.store import EdgeStore
    from edge.sync import SyncClient

    url = f"sqlite:///{root / 'latency.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    broker = Broker(root / "broker-latency")
    broker.start()
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    stop = ctx.Event()
    _register(broker.port, ["ingest-lat"])
    proc = ctx.Process(target=_latency_worker, args=(broker.port, url, out, stop))
    proc.start()
    time.sleep(3)  # worker up (its session already exists, so nothing is missed meanwhile)
    store = EdgeStore(StoreConfig(path=root / "lat-edge.db", images_dir=root / "lat-img", min_free_mb=0))
    sync = SyncClient(
        SyncConfig(broker=BrokerConfig(port=broker.port), health_interval_s=3600),
        DeviceConfig(id="dev-lat", site="bench"),
        store,
    )
    sync.start()
    stored: dict[str, float] = {}
    committed: dict[str, float] = {}
    n = int(rate * seconds)
    try:
        t0 = time.perf_counter()
        for i in range(n):
            target = t0 + i / rate
            wait = target - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            r = result("dev-lat", i)
            store.save_result(r)
            stored[str(r.result_id)] = time.time()
            if i % int(rate * 5) == 0 and os.environ.get("BENCH_DEBUG"):
                print(
                    f"  t={time.perf_counter() - t0:.1f}s stored={i} acked-by-broker={sync.acknowledged} committed={len(committed)}"
                )
        deadline = time.monotonic() + 120
        while len(committed) < n and time.monotonic() < deadline:
            try:
                at, ids = out.get(timeout=0.5)
            except Exception:
                continue
            committed.update(dict.fromkeys(ids, at))
    finally:
        sync.stop()
        stop.set()
        proc.join(15)
        broker.stop()
    lat = sorted((committed[k] - v) * 1000 for k, v in stored.items() if k in committed)
    if not lat:
        return float("nan"), float("nan"), 0
    return lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))], len(lat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="100,000-result ingest phases, 60 s latency run.")
    ap.add_argument("--edge-n", type=int, default=100_000, help="Backlog the edge drains.")
    ap.add_argument("--ingest-n", type=int, default=None, help="Results per ingest phase.")
    ap.add_argument("--skip-pg", action="store_true", help="Skip the PostgreSQL phases.")
    ap.add_argument("--rate", type=float, default=500.0, help="Steady rate of the latency phase.")
    ap.add_argument(
        "--only", choices=["edge", "sqlite", "pg", "latency"], default=None, help="Run one phase."
    )
    args = ap.parse_args()
    ingest_n = args.ingest_n or (100_000 if args.full else 20_000)
    lat_s = 60.0 if args.full else 20.0
    root = Path(tempfile.mkdtemp(prefix="signet-bench-sync-"))
    rows: list[tuple[str, float, str, bool]] = []
    print(f"bench/sync.py  cpus={os.cpu_count()}  edge backlog={args.edge_n}  ingest n={ingest_n}")
    try:
        run = lambda phase: args.only in (None, phase)  # noqa: E731
        if run("edge"):
            ours, naive = bench_edge(root, args.edge_n)
            print(
                f"edge drain: {ours:,.0f} results/s (naive publish-wait-mark: {naive:,.0f}/s, ratio {ours / naive:.1f}x)"
            )
            rows.append(("edge drain results/s", ours, ">= 2000", ours >= 2000))

        if run("sqlite"):
            sq = f"sqlite:///{root / 'ingest.db'}"
            one, _ = bench_ingest(root, "sqlite", sq, ingest_n, 1)
            base, _ = bench_ingest(
                root, "sqlite-naive", f"sqlite:///{root / 'naive.db'}", max(2000, ingest_n // 10), 1, batch=1
            )
            print(
                f"ingest SQLite, 1 worker: {one:,.0f}/s (one message per transaction: {base:,.0f}/s, ratio {one / base:.1f}x)"
            )
            rows.append(("ingest SQLite 1 worker /s", one, ">= 3000", one >= 3000))

        if run("pg") and not args.skip_pg:
            urls = [_pg_db(), _pg_db()]
            try:
                pg1, b1 = bench_ingest(root, "pg1", urls[0], ingest_n, 1)
                pg2, b2 = bench_ingest(root, "pg2", urls[1], ingest_n, 2)
            finally:
                for u in urls:
                    _pg_drop(u)
            print(
                f"ingest PostgreSQL: 1 worker {pg1:,.0f}/s, 2 workers {pg2:,.0f}/s (scaling {pg2 / pg1:.2f}x)"
            )
            # Whether scaling is limited by our code or by the machine: the whole pipeline's CPU
            # (workers, broker, PostgreSQL, this process) per result, and what all the cores
            # would give at the two-worker cost per result.
            cores = os.cpu_count() or 1
            per1, per2 = b1 / pg1 * 1e6, b2 / pg2 * 1e6
            bound = cores / b2 * pg2 if b2 > 0 else float("nan")
            print(
                f"  busy cores (of {cores}) while storing: 1 worker {b1:.2f}, 2 workers {b2:.2f}; "
                f"CPU per result {per1:.0f} / {per2:.0f} us; all {cores} cores at the 2-worker cost: "
                f"{bound:,.0f}/s = {bound / pg1:.2f}x one worker"
            )
            rows.append(("ingest PostgreSQL 1 worker /s", pg1, ">= 2000", pg1 >= 2000))
            rows.append(("PostgreSQL 2 workers / 1 worker", pg2 / pg1, ">= 1.7", pg2 / pg1 >= 1.7))

        if run("latency"):
            p50, p99, got = bench_latency(root, args.rate, lat_s)
            print(
                f"latency at {args.rate:.0f}/s for {lat_s:.0f} s: {got} results, p50 {p50:.0f} ms, p99 {p99:.0f} ms (edge store -> cloud commit)"
            )
            rows.append((f"publish->commit p99 ms @{args.rate:.0f}/s", p99, "< 200", p99 < 200))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("\nsummary")
    for name, value, target, ok in rows:
        print(f"  {name:34s} {value:10,.2f}  target {target:8s} {'PASS' if ok else 'MISS'}")


if __name__ == "__main__":
    main()
