"""Device health: per-stage latency and throughput, fps, queue depths, outbox backlog, memory,
disk and temperatures, as the contract's ``Health`` message and on a Prometheus endpoint.

Temperatures come from /sys/class/thermal (every Linux, the Jetson included: its zones are named
``cpu-thermal``, ``gpu-thermal``, ...) and, where present, a running ``tegrastats`` whose last line
is parsed for ``CPU@41.5C GPU@40C``.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psutil

from edge.contract import Health

log = logging.getLogger(__name__)

THERMAL = Path("/sys/class/thermal")
_TEGRA_TEMP = re.compile(r"\b([A-Za-z]+)@(-?\d+(?:\.\d+)?)C")


def thermal_zones(root: Path = THERMAL) -> dict[str, float]:
    """zone type -> °C from /sys/class/thermal/thermal_zone*/ (empty where there are none)."""
    out: dict[str, float] = {}
    for zone in sorted(root.glob("thermal_zone*")):
        try:
            kind = (zone / "type").read_text().strip()
            milli = int((zone / "temp").read_text().strip())
        except (OSError, ValueError):
            continue
        out[kind] = milli / 1000.0
    return out


def parse_tegrastats(line: str) -> dict[str, float]:
    """``CPU@41.5C GPU@40C ...`` -> {"cpu": 41.5, "gpu": 40.0}."""
    return {name.lower(): float(v) for name, v in _TEGRA_TEMP.findall(line)}


class Tegrastats:
    """A background ``tegrastats`` (Jetson only) whose latest temperatures are kept."""

    def __init__(self, interval_ms: int = 2000) -> None:
        self.temps: dict[str, float] = {}
        self._proc: subprocess.Popen[str] | None = None
        exe = shutil.which("tegrastats")
        if exe is None:
            return
        self._proc = subprocess.Popen(
            [exe, "--interval", str(interval_ms)], stdout=subprocess.PIPE, text=True
        )
        threading.Thread(target=self._read, name="tegrastats", daemon=True).start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            self.temps = parse_tegrastats(line)

    def close(self) -> None:
        if self._proc is not None:
            self._proc.terminate()


def _pick(zones: dict[str, float], keys: Iterable[str]) -> float | None:
    for k, v in zones.items():
        if any(key in k.lower() for key in keys):
            return v
    return None


def tree_rss_mb(proc: psutil.Process | None = None) -> float:
    """Resident memory of this process and its children (the reading workers), in MB."""
    proc = proc or psutil.Process()
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total / 1_048_576


class HealthMonitor:
    """Builds ``Health`` snapshots from a running pipeline and store."""

    def __init__(
        self, device_id: str, pipeline: Any, store: Any, tegrastats: Tegrastats | None = None
    ) -> None:
        self.device_id = device_id
        self.pipeline = pipeline
        self.store = store
        self.tegrastats = tegrastats
        self.started = time.monotonic()
        psutil.cpu_percent(None)  # prime: the next call reports usage since now

    def snapshot(self) -> Health:
        p = self.pipeline
        zones = thermal_zones()
        tegra = self.tegrastats.temps if self.tegrastats else {}
        cpu_t = tegra.get("cpu", _pick(zones, ("cpu", "x86_pkg", "soc", "acpitz")))
        gpu_t = tegra.get("gpu", _pick(zones, ("gpu",)))
        vm = psutil.virtual_memory()
        try:
            backlog = int(self.store.outbox_backlog())
        except Exception:  # the store may be busy; health must not fail because of it
            backlog = 0
        intake_ok, reason = self.store.intake_status()
        stage_ms = {st.name: round(st.median_ms(), 1) for st in p.stages if st.count}
        return Health(
            device_id=self.device_id,
            uptime_s=round(time.monotonic() - self.started, 1),
            fps=round(p.live_fps(), 2),
            queues=p.queue_depths(),
            outbox_backlog=backlog,
            stage_ms=stage_ms,
            pages_processed=p.pages_processed,
            pages_failed=p.pages_failed,
            cpu_percent=psutil.cpu_percent(None),
            cpu_temp_c=cpu_t,
            gpu_temp_c=gpu_t,
            memory_used_mb=round((vm.total - vm.available) / 1_048_576, 1),
            memory_total_mb=round(vm.total / 1_048_576, 1),
            rss_mb=round(tree_rss_mb(), 1),
            disk_free_mb=round(self.store.free_mb(), 1),
            intake_paused=p.intake_paused or (None if intake_ok else reason),
        )


class HealthCollector:
    """A prometheus_client collector reading a fresh snapshot on each scrape."""

    def __init__(self, monitor: HealthMonitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        h = self.monitor.snapshot()
        p = self.monitor.pipeline
        yield GaugeMetricFamily("signet_edge_fps", "Live frames detected per second.", value=h.fps)
        yield GaugeMetricFamily(
            "signet_edge_outbox_backlog",
            "Messages not yet acknowledged by the cloud.",
            value=h.outbox_backlog,
        )
        q = GaugeMetricFamily("signet_edge_queue_depth", "Items waiting per queue.", labels=["queue"])
        for name, n in h.queues.items():
            q.add_metric([name], n)
        yield q
        lat = GaugeMetricFamily("signet_edge_stage_latency_ms", "Median latency per stage.", labels=["stage"])
        thr = GaugeMetricFamily(
            "signet_edge_stage_throughput", "Items per second per stage (10 s window).", labels=["stage"]
        )
        restarts = CounterMetricFamily(
            "signet_edge_stage_restarts", "Watchdog restarts per stage.", labels=["stage"]
        )
        for st in p.stages:
            lat.add_metric([st.name], st.median_ms())
            thr.add_metric([st.name], st.rate())
            restarts.add_metric([st.name], st.restarts)
        yield lat
        yield thr
        yield restarts
        dropped = CounterMetricFamily(
            "signet_edge_frames_dropped", "Live frames dropped (drop_oldest).", labels=["queue"]
        )
        for name, n in p.dropped().items():
            dropped.add_metric([name], n)
        yield dropped
        yield CounterMetricFamily("signet_edge_pages_processed", "Pages stored.", value=h.pages_processed)
        yield CounterMetricFamily(
            "signet_edge_pages_failed", "Pages stored with a failed reading.", value=h.pages_failed
        )
        yield GaugeMetricFamily(
            "signet_edge_rss_mb", "Resident memory of the edge and its workers.", value=h.rss_mb or 0
        )
        yield GaugeMetricFamily(
            "signet_edge_disk_free_mb", "Free disk under the data dir.", value=h.disk_free_mb or 0
        )
        yield GaugeMetricFamily(
            "signet_edge_intake_paused", "1 while intake is paused.", value=1 if h.intake_paused else 0
        )
        temps = GaugeMetricFamily(
            "signet_edge_temperature_celsius", "CPU/GPU temperature.", labels=["sensor"]
        )
        if h.cpu_temp_c is not None:
            temps.add_metric(["cpu"], h.cpu_temp_c)
        if h.gpu_temp_c is not None:
            temps.add_metric(["gpu"], h.gpu_temp_c)
        yield temps


def serve_metrics(monitor: HealthMonitor, port: int, host: str = "127.0.0.1") -> Any:
    """Start the Prometheus endpoint on its own registry; returns the server (``.shutdown()``)."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(HealthCollector(monitor))  # type: ignore[arg-type]
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server
