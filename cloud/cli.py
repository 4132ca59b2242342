"""``signet cloud ...``: each subcommand lives in the module that owns it, imported on use."""

from __future__ import annotations

from signet.cli import lazy_group

cloud = lazy_group(
    "cloud",
    "The cloud service.",
    {
        "serve": "cloud.serve:serve",
        "db": "cloud.db.cli:db",
        "users": "cloud.auth.cli:users",
        "ingest": "cloud.ingest.cli:ingest",
        "devices": "cloud.devices.cli:devices",
        "broker": "cloud.devices.cli:broker",
        "alerts": "cloud.alerts:alerts_cli",
        "mlflow": "cloud.registry.cli:mlflow_cmd",
        "models": "cloud.registry.cli:models_cmd",
    },
)
