"""The demo's chain: every service started as its own process, the samples fed in, the result
read back from the cloud's REST API. Kept apart from the click command so tests can drive it."""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
from pathlib import Path
from typing import Any

import yaml

from signet.demo import REPO, Services, free_port, http_json, signet_cmd, wait_port

log = logging.getLogger(__name__)

SAMPLES = REPO / "samples"
DEVICES = {"kiosk-01": "demo-kiosk", "branch-01": "paris-branch"}


def _write_yaml(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _expected_pages() -> tuple[int, int]:
    """(pages the scanner station gets, documents the kiosk's video shows)."""
    images = list((SAMPLES / "pages" / "images").glob("*"))
    pdf_pages = 0
    for meta in (SAMPLES / "pdf").glob("*.json"):
        doc = json.loads(meta.read_text())
        pdf_pages += len(doc["pages"])
    video_docs = len(json.loads((SAMPLES / "video" / "desk.json").read_text())["documents"])
    return len(images) + pdf_pages, video_docs


def _check_prerequisites() -> list[str]:
    problems = []
    for tool in ("mosquitto", "mosquitto_passwd", "tesseract", "openssl"):
        if not shutil.which(tool):
            problems.append(f"{tool} is not installed (scripts/setup installs it)")
    for artifact in ("detector.onnx", "classifier.int8.onnx", "handwriting.onnx"):
        if not (REPO / "models" / "artifacts" / artifact).exists():
            problems.append(
                f"models/artifacts/{artifact} is missing (train and export it: see its model card)"
            )
    if not (SAMPLES / "video" / "desk.mp4").exists():
        problems.append("samples/ is missing (signet data samples --out samples)")
    return problems


def run_demo(workdir: Path, serve: bool, timeout: float) -> int:
    problems = _check_prerequisites()
    if problems:
        for p in problems:
            log.error("demo cannot run: %s", p)
        return 2
    root = workdir.resolve()
    if root.exists():
        shutil.rmtree(root)
    (root / "logs").mkdir(parents=True)
    services = Services(root)
    try:
        return _run(root, services, serve, timeout)
    except KeyboardInterrupt:
        log.info("interrupted")
        return 130
    finally:
        log.info("stopping the demo's services")
        services.stop()


def _run(root: Path, services: Services, serve: bool, timeout: float) -> int:
    from cloud.db import make_engine
    from cloud.db.migrate import upgrade
    from cloud.devices.broker import BrokerFiles, make_tls, write_config
    from cloud.devices.registry import add_device

    started = time.monotonic()
    ports = {k: free_port() for k in ("broker", "broker_tls", "web", "mlflow", "kiosk-01", "branch-01")}
    web_url = f"http://127.0.0.1:{ports['web']}"

    # -- broker: our generated config (no anonymous, password file, ACL, TLS for devices) --------
    files = BrokerFiles(root / "broker")
    # Started as root (a container, a fresh VM), Mosquitto would drop to its own user, which
    # cannot read the demo's root-owned files: keep it as root then.
    run_as = "root" if os.geteuid() == 0 else None
    service_passwords = write_config(
        files, tls_port=ports["broker_tls"], local_port=ports["broker"], run_as=run_as
    )
    make_tls(files.tls, "localhost")
    conf = files.conf.read_text().replace(
        "log_dest syslog", f"log_dest file {root / 'logs' / 'mosquitto-broker.log'}"
    )
    files.conf.write_text(conf)

    cloud_cfg: dict[str, Any] = {
        "database": {"url": f"sqlite:///{root / 'cloud.db'}"},
        "web": {
            "host": "127.0.0.1",
            "port": ports["web"],
            "images_dir": str(root / "cloud-images"),
            "workers": 1,
        },
        "ingest": {"host": "127.0.0.1", "port": ports["broker"], "username": "ingest"},
        "broker": {
            "dir": str(files.dir),
            "host": "127.0.0.1",
            "port": ports["broker_tls"],
            "cloud_url": web_url,
        },
        "mlflow": {
            "tracking_uri": f"http://127.0.0.1:{ports['mlflow']}",
            "port": ports["mlflow"],
            "backend_store_uri": f"sqlite:///{root / 'mlflow.db'}",
            "artifacts_destination": str(root / "mlartifacts"),
            "packages_dir": str(root / "registry" / "packages"),
            "state_db": str(root / "registry" / "rollouts.db"),
            "device_base_url": web_url,
        },
    }
    cloud_yaml = _write_yaml(root / "cloud.yaml", cloud_cfg)
    cloud_env = {
        "SIGNET_WEB__SECRET_KEY": secrets.token_urlsafe(32),
        "SIGNET_INGEST__PASSWORD": service_passwords.get("ingest", ""),
    }

    engine = make_engine(cloud_cfg["database"]["url"])
    upgrade(engine)
    enrolments = {dev: add_device(engine, files, dev, site) for dev, site in DEVICES.items()}
    engine.dispose()

    admin_password = secrets.token_urlsafe(12)
    subprocess.run(
        signet_cmd("cloud", "users", "add", "admin", "--admin", "--password-stdin", "--config", str(cloud_yaml)),
        input=admin_password + "\n", text=True, check=True, capture_output=True, cwd=REPO,
    )  # fmt: skip
    token = subprocess.run(
        signet_cmd("cloud", "users", "token", "demo-reader", "--role", "viewer", "--config", str(cloud_yaml)),
        text=True, check=True, capture_output=True, cwd=REPO,
    ).stdout.strip().splitlines()[-1]  # fmt: skip

    broker = services.start("mosquitto", ["mosquitto", "-c", str(files.conf)])
    if not wait_port(ports["broker"], 15, broker):
        log.error("the broker did not start: see %s", root / "logs")
        return 1
    mlflow = services.start("mlflow", signet_cmd("cloud", "mlflow", "--config", str(cloud_yaml)), cloud_env)
    web = services.start("web", signet_cmd("cloud", "serve", "--config", str(cloud_yaml)), cloud_env)
    services.start("ingest", signet_cmd("cloud", "ingest", "--config", str(cloud_yaml)), cloud_env)
    if not wait_port(ports["web"], 60, web):
        log.error("the cloud web app did not start: see %s", root / "logs" / "web.log")
        return 1
    if not wait_port(ports["mlflow"], 60, mlflow):
        log.warning("MLflow did not start in 60 s (see logs/mlflow.log); going on without it")
    else:
        _register_shipped_models(cloud_cfg["mlflow"]["tracking_uri"])

    # -- the two devices ---------------------------------------------------------------------
    inbox = root / "branch-01" / "inbox"
    inbox.mkdir(parents=True)
    sources = {
        "kiosk-01": f"file://{SAMPLES / 'video' / 'desk.mp4'}",
        "branch-01": f"folder://{inbox}",
    }
    for dev, site in DEVICES.items():
        e = enrolments[dev]
        edge_cfg = {
            "device": {"id": dev, "site": site},
            "source": {"uri": sources[dev]},
            "detector": {"model": str(REPO / "models" / "artifacts" / "detector.onnx"), "threads": 1},
            "reader": {
                "classifier": str(REPO / "models" / "artifacts" / "classifier.int8.onnx"),
                "handwriting": str(REPO / "models" / "artifacts" / "handwriting.onnx"),
            },
            "pipeline": {"workers": 1},
            "store": {"path": str(root / dev / "edge.db"), "images_dir": str(root / dev / "images")},
            "sync": {
                "broker": {
                    "host": "127.0.0.1",
                    "port": ports["broker_tls"],
                    "username": dev,
                    "tls": True,
                    "ca_file": str(files.tls / "ca.crt"),
                },
                "cloud_url": web_url,
                "images": "full",
            },
            "kiosk": {"port": ports[dev]},
            "metrics": {"port": None},
        }
        edge_yaml = _write_yaml(root / dev / "edge.yaml", edge_cfg)
        services.start(
            f"edge-{dev}",
            signet_cmd("edge", "run", "--config", str(edge_yaml)),
            {"SIGNET_SYNC__BROKER__PASSWORD": e.broker_password, "SIGNET_SYNC__TOKEN": e.token},
        )

    # The clerk's scanner drops its batch into the hot folder.
    for f in sorted((SAMPLES / "pages" / "images").glob("*")) + sorted((SAMPLES / "pdf").glob("*.pdf")):
        shutil.copy2(f, inbox / f.name)

    scanner_pages, video_docs = _expected_pages()
    log.info(
        "cloud %s | kiosk http://127.0.0.1:%d | scanner station http://127.0.0.1:%d | waiting for %d scanned "
        "pages and the %d documents in the kiosk video",
        web_url, ports["kiosk-01"], ports["branch-01"], scanner_pages, video_docs,
    )  # fmt: skip

    docs = _wait_for_cloud(web_url, token, scanner_pages, video_docs, services, started + timeout)
    _print_summary(docs, web_url, token)
    print(f"\nDashboard: {web_url}  (user admin, password {admin_password})")
    print(
        f"Kiosk page: http://127.0.0.1:{ports['kiosk-01']}   Scanner station: http://127.0.0.1:{ports['branch-01']}"
    )
    print(f"Models: {web_url}/models   MLflow: http://127.0.0.1:{ports['mlflow']}   Logs: {root / 'logs'}")
    print(f"Whole chain in {time.monotonic() - started:.0f} s")
    if serve:
        print("Serving until Ctrl-C ...")
        ended: set[str] = set()
        while not services.failed():
            # The kiosk's video file ends and its device stops by itself (exit 0): the dashboard,
            # the scanner station and the rest stay up for a person to look at.
            for name in set(services.check()) - ended:
                log.info("%s stopped by itself (exit 0); the other services keep running", name)
                ended.add(name)
            if len(ended) == len(services.procs):
                break
            time.sleep(1)
        failed = services.failed()
        if failed:
            log.error("a service stopped with an error: %s (see their logs)", ", ".join(failed))
        return 1 if failed else 0
    pages = sum(d["page_count"] for d in docs if d["device"] == "branch-01")
    return 0 if pages >= scanner_pages else 1


def _register_shipped_models(tracking_uri: str) -> None:
    """Register the models the devices run as `production` in the demo's MLflow, so the
    dashboard's Models page shows the versions the results name."""
    from models.tracking import tracked_run

    art = REPO / "models" / "artifacts"
    try:
        with tracked_run("shipped", {"source": "models/artifacts"}, tracking_uri, run_name="demo") as t:
            t.register_onnx(
                art / "detector.onnx", "signet-detector", card=art / "detector.md", aliases=["production"]
            )
            t.register_onnx(
                art / "classifier.int8.onnx", "signet-classifier", card=art / "classifier.md",
                aliases=["production"], kind="classifier", extra_files=[art / "classifier.tokenizer.json"],
            )  # fmt: skip
            t.register_onnx(
                art / "handwriting.onnx", "signet-handwriting", card=art / "handwriting.md",
                aliases=["production"], kind="handwriting",
            )  # fmt: skip
    except Exception as exc:  # the chain runs without the registry; say why it is empty
        log.warning("could not register the shipped models in MLflow: %s", exc)


def _fetch_documents(web_url: str, token: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    url = f"{web_url}/api/v1/documents?limit=200&sort=captured_at"
    while url:
        page = http_json(url, token)
        items += page["items"]
        url = (
            f"{web_url}/api/v1/documents?limit=200&cursor={page['next_cursor']}"
            if page.get("next_cursor")
            else ""
        )
    return items


def _wait_for_cloud(
    web_url: str, token: str, scanner_pages: int, video_docs: int, services: Services, deadline: float
) -> list[dict[str, Any]]:
    last = -1
    docs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        dead = [n for n in services.check() if not n.startswith("edge-kiosk")]
        if dead:
            log.error("service(s) stopped early: %s (see their logs)", ", ".join(dead))
            break
        try:
            docs = _fetch_documents(web_url, token)
        except (urllib.error.URLError, OSError, json.JSONDecodeError) as exc:
            log.warning("cloud API not answering yet: %s", exc)
            time.sleep(2)
            continue
        scanned = sum(d["page_count"] for d in docs if d["device"] == "branch-01")
        seen = sum(1 for d in docs if d["device"] == "kiosk-01")
        if scanned + seen != last:
            log.info(
                "in the cloud: %d/%d scanned pages, %d/%d kiosk documents",
                scanned,
                scanner_pages,
                seen,
                video_docs,
            )
            last = scanned + seen
        kiosk_done = seen >= video_docs or "edge-kiosk-01" in services.check()
        if scanned >= scanner_pages and kiosk_done:
            break
        time.sleep(2)
    else:
        log.error("timed out waiting for the documents to reach the cloud")
    return docs


def _print_summary(docs: list[dict[str, Any]], web_url: str, token: str) -> None:
    print(
        f"\n{'device':<10} {'source':<34} {'pg':>2} {'type':<15} {'conf':>5} {'sigs':>4}  review  key fields"
    )
    for d in docs:
        try:
            detail = http_json(f"{web_url}/api/v1/documents/{d['id']}", token)
        except (urllib.error.URLError, OSError):
            detail = {}
        fields: dict[str, Any] = {}
        for page in detail.get("pages", []):
            for f in page.get("fields") or []:
                fields.setdefault(f["name"], f["value"])
        keys = ", ".join(f"{k}={v}" for k, v in list(fields.items())[:3])
        src = Path(d["source"]["uri"]).name[:34]
        sigs = "UNSIGNED" if d["signature_count"] == 0 else str(d["signature_count"])
        print(
            f"{d['device']:<10} {src:<34} {d['page_count']:>2} {d['doc_type']:<15} {d['type_confidence']:>5.2f} "
            f"{sigs:>4}  {'yes' if d['needs_review'] else 'no':<6}  {keys[:60]}"
        )
    by_type: dict[str, int] = {}
    for d in docs:
        by_type[d["doc_type"]] = by_type.get(d["doc_type"], 0) + 1
    print(
        f"\n{len(docs)} documents in the cloud: " + ", ".join(f"{k} {v}" for k, v in sorted(by_type.items()))
    )
    signed = sum(1 for d in docs if d["signature_count"] > 0)
    print(
        f"signed {signed}, unsigned {len(docs) - signed}, needs review {sum(1 for d in docs if d['needs_review'])}"
    )
    sys.stdout.flush()
