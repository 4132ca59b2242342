"""Wiring of the registry parts from ``CloudConfig``, shared by the CLI and the Models page."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from cloud.config import CloudConfig
from cloud.registry.registry import Registry
from cloud.registry.rollout import Publisher, Rollouts, RolloutStore, canary_devices
from edge.contract import DesiredModel

log = logging.getLogger(__name__)


@dataclass
class Services:
    registry: Registry
    store: RolloutStore
    rollouts: Rollouts
    cfg: CloudConfig


def make_services(cfg: CloudConfig) -> Services:
    store = RolloutStore(cfg.mlflow.state_db)
    publisher = Publisher(cfg.ingest.host, cfg.ingest.port, cfg.ingest.username, cfg.ingest.password)
    return Services(
        Registry(cfg.mlflow.tracking_uri, cfg.mlflow.packages_dir), store, Rollouts(store, publisher), cfg
    )


def fleet_devices(cfg: CloudConfig) -> list[tuple[str, str | None]]:
    """(device id, site) of every registered device, from the cloud database."""
    from sqlalchemy import select

    from cloud.db.engine import make_engine
    from cloud.db.models import Device

    engine = make_engine(cfg.database.url)
    try:
        with engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(select(Device.id, Device.site_id).order_by(Device.id))]
    finally:
        engine.dispose()


def download_url(cfg: CloudConfig, name: str, version: str) -> str:
    return f"{cfg.mlflow.device_base_url.rstrip('/')}/api/v1/models/{name}/{version}/package"


def promote(
    svc: Services,
    name: str,
    version: str,
    fleet: bool = False,
    site: str | None = None,
    percent: float | None = None,
    devices: list[tuple[str, str | None]] | None = None,
    actor: str = "cli",
) -> dict[str, Any]:
    """Promote a registered version to the fleet, a site, a percentage of devices (or a site's)."""
    if not fleet and site is None and percent is None:
        raise ValueError("say where: --fleet, --site SITE and/or --percent P")
    if fleet and (site is not None or percent is not None):
        raise ValueError("--fleet cannot be combined with --site or --percent")
    if percent is not None and not 0 < percent <= 100:
        raise ValueError("--percent must be in (0, 100]")
    pkg = svc.registry.package(name, version)
    model = DesiredModel(
        kind=pkg.kind,  # type: ignore[arg-type]
        name=name,
        version=str(version),
        sha256=pkg.sha256,
        size=pkg.size,
        url=download_url(svc.cfg, name, str(version)),
    )
    if fleet:
        rid = svc.rollouts.promote(model, None, "fleet", actor=actor)
        svc.registry.set_alias(name, "production", str(version))
        return {"rollout_id": rid, "devices": None, "model": model}
    pool = devices if devices is not None else fleet_devices(svc.cfg)
    chosen = [d for d, s in pool if site is None or s == site]
    scope, target = (
        ("site", site or "")
        if percent is None
        else ("percent", f"{percent:g}%" + (f" of {site}" if site else ""))
    )
    if percent is not None:
        chosen = canary_devices(chosen, percent, salt=name)
    if not chosen:
        raise ValueError(f"no devices match {target or site}")
    rid = svc.rollouts.promote(model, chosen, scope, target, actor=actor)
    svc.registry.set_alias(name, "candidate", str(version))
    return {"rollout_id": rid, "devices": chosen, "model": model}
