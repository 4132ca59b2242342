"""Page images go to the real cloud app over HTTP with the device token, idempotent by sha256."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from cloud.config import CloudConfig
from cloud.devices.broker import BrokerFiles
from cloud.devices.registry import add_device
from edge.config import BrokerConfig, DeviceConfig, StoreConfig, SyncConfig
from edge.store import EdgeStore, outbox
from edge.sync import SyncClient
from edge.sync.images import thumbnail
from tests.edge.factories import make_result, page_image
from tests.support.broker import Broker
from tests.support.net import free_port


@pytest.fixture
def cloud(tmp_path: Path):  # type: ignore[no-untyped-def]
    from werkzeug.serving import make_server

    from cloud.app import create_app
    from cloud.db import make_engine, upgrade

    cfg = CloudConfig.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'cloud.db'}"},
            "web": {"images_dir": str(tmp_path / "cloud-img")},
        }
    )
    engine = make_engine(cfg.database.url)
    upgrade(engine)
    enrol = add_device(engine, BrokerFiles(tmp_path / "broker-conf"), "dev-test", "lab")
    app = create_app(cfg, engine=engine)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}", enrol.token, Path(cfg.web.images_dir)
    finally:
        server.shutdown()
        engine.dispose()


def _sync(tmp_path: Path, broker: Broker, url: str, token: str, policy: str) -> tuple[EdgeStore, SyncClient]:
    store = EdgeStore(StoreConfig(path=tmp_path / "edge.db", images_dir=tmp_path / "img", min_free_mb=0))
    cfg = SyncConfig(broker=BrokerConfig(port=broker.port), cloud_url=url, token=token, images=policy)  # type: ignore[arg-type]
    return store, SyncClient(cfg, DeviceConfig(id="dev-test", site="lab"), store)


def test_given_full_policy_when_synced_then_image_stored_in_cloud_once(
    tmp_path: Path, broker: Broker, cloud
) -> None:  # type: ignore[no-untyped-def]
    url, token, images_dir = cloud
    store, sync = _sync(tmp_path, broker, url, token, "full")
    img = page_image(3)
    r = make_result(img)
    store.save_result(r, img)
    assert outbox.backlog(store.db, "image") == 1
    sync.start()
    try:
        deadline = time.monotonic() + 20
        while outbox.backlog(store.db, "image") and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        sync.stop()
    stored = list(images_dir.rglob(r.image.sha256))
    assert outbox.backlog(store.db, "image") == 0
    assert len(stored) == 1 and stored[0].read_bytes() == store.image_path(r.image.sha256).read_bytes()
    # idempotent: uploading the same image again stores nothing new and succeeds
    assert sync._image_path is not None
    from edge.sync.images import ImageUploader

    up = ImageUploader(sync.cfg, store.path, store.image_path, threading.Event())
    assert up.upload_one(r.image.sha256, b'{"upload": "full"}') is None


def test_given_wrong_token_when_uploading_then_refused_and_kept_pending(
    tmp_path: Path, broker: Broker, cloud
) -> None:  # type: ignore[no-untyped-def]
    url, _token, _dir = cloud
    store, sync = _sync(tmp_path, broker, url, "sgd_wrong", "full")
    img = page_image(4)
    store.save_result(make_result(img), img)
    from edge.sync.images import ImageUploader

    up = ImageUploader(sync.cfg, store.path, store.image_path, threading.Event())
    row = outbox.claim(store.db, 1, kinds=("image",))[0]
    err = up.upload_one(row.key, row.payload)
    assert err is not None and "token refused" in err
    assert outbox.backlog(store.db, "image") == 1


def test_thumbnail_is_bounded_jpeg() -> None:
    import cv2
    import numpy as np

    big = np.full((2000, 1000, 3), 200, np.uint8)
    _ok, buf = cv2.imencode(".jpg", big)
    thumb = thumbnail(buf.tobytes(), 256)
    out = cv2.imdecode(np.frombuffer(thumb, np.uint8), cv2.IMREAD_COLOR)
    assert out.shape[:2] == (256, 128)


@pytest.mark.parametrize("policy", ["thumbnail", "none"])
def test_given_a_smaller_policy_when_synced_then_the_cloud_gets_a_thumbnail_or_nothing(
    tmp_path: Path, broker: Broker, cloud, policy: str
) -> None:  # type: ignore[no-untyped-def]
    import cv2
    import numpy as np

    url, token, images_dir = cloud
    store, sync = _sync(tmp_path, broker, url, token, policy)
    img = np.random.default_rng(5).integers(0, 255, (1400, 1000, 3), np.uint8)  # larger than 512 px
    r = make_result(img)
    store.save_result(r, img)
    sync.start()
    try:
        deadline = time.monotonic() + 20
        while outbox.backlog(store.db, "image") and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        sync.stop()
    assert outbox.backlog(store.db, "image") == 0  # done either way: nothing left pending
    sha = r.image.sha256
    assert not (images_dir / sha[:2] / sha).exists()  # never the full page
    thumb = images_dir / sha[:2] / f"{sha}.thumb"
    if policy == "none":
        assert not images_dir.exists() or not any(images_dir.rglob("*"))
        return
    out = cv2.imdecode(np.frombuffer(thumb.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert out is not None and max(out.shape[:2]) == sync.cfg.thumbnail_px
