"""The generated mosquitto.conf, whole, as production runs it: an enrolled device publishes over
TLS, ingest reads on the loopback listener with its service password, and ingest fills its
batches from what the broker queued for its session (MQTT v5: the broker's in-flight window is the
client's receive maximum, not Mosquitto's max_inflight_messages of 20 for v3 clients)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cloud.devices.broker import BrokerFiles, make_tls, write_config
from cloud.devices.registry import add_device
from cloud.ingest.worker import IngestWorker
from edge.contract import encode, result_topic
from tests.cloud.ingest.support import ingest_cfg, result_ids, sqlite_engine, wait_until
from tests.edge.sync.factory import result
from tests.support.net import free_port, wait_for_port


def test_given_the_generated_config_when_a_device_floods_then_ingest_stores_all_in_full_batches(
    tmp_path: Path,
) -> None:
    files = BrokerFiles(tmp_path / "conf")
    tls_port, local_port = free_port(), free_port()
    service = write_config(
        files, tls_port=tls_port, local_port=local_port, run_as="root" if os.geteuid() == 0 else None
    )
    make_tls(files.tls, "localhost")
    conf = files.conf.read_text()
    assert "allow_anonymous false" in conf
    # the only edit: a log file instead of syslog, for the test to read
    files.conf.write_text(conf.replace("log_dest syslog", f"log_dest file {tmp_path / 'broker.log'}"))
    engine = sqlite_engine(tmp_path)
    enrol = add_device(engine, files, "dev-1", "lab")
    proc = subprocess.Popen(["mosquitto", "-c", str(files.conf)], stderr=subprocess.PIPE)
    worker = None
    try:
        wait_for_port(tls_port, timeout=10)
        wait_for_port(local_port, timeout=10)
        # Results queue on the broker for ingest's persistent session first, as after an outage.
        worker = IngestWorker(
            ingest_cfg(local_port, username="ingest", password=service["ingest"], batch_size=200), engine
        )
        worker.start()
        assert worker.wait_connected(10)
        worker.stop()
        dev = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dev-1", protocol=mqtt.MQTTv5)
        dev.username_pw_set("dev-1", enrol.broker_password)
        dev.tls_set(ca_certs=str(files.tls / "ca.crt"))
        dev.connect("127.0.0.1", tls_port)
        dev.loop_start()
        ids = set()
        infos = []
        for i in range(2000):
            r = result("dev-1", i, site="lab")
            ids.add(str(r.result_id))
            infos.append(dev.publish(result_topic("dev-1"), encode(r), qos=1))
        for info in infos:
            info.wait_for_publish(30)
        dev.loop_stop()
        dev.disconnect()
        time.sleep(0.5)
        worker = IngestWorker(
            ingest_cfg(local_port, username="ingest", password=service["ingest"], batch_size=200), engine
        )
        worker.start()
        assert wait_until(lambda: result_ids(engine) == ids, timeout=60)
        per_batch = worker.stats.received / max(worker.stats.batches, 1)
        print(f"generated config: {len(ids)} stored, {per_batch:.0f} results per ingest batch")
        assert per_batch > 50, f"ingest batches of {per_batch:.0f}: something caps the in-flight window"
    finally:
        if worker is not None:
            worker.stop()
        proc.terminate()
        proc.wait(10)
