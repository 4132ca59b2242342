"""Cloud settings, loaded in ``main()``; each section is extended by the part that owns it."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from signet.config import StrictModel


class DatabaseConfig(StrictModel):
    url: str = Field(
        "sqlite:///var/cloud.db", description="SQLAlchemy URL: sqlite:///... or postgresql+psycopg://..."
    )
    echo: bool = Field(False, description="Log SQL statements.")


class WebConfig(StrictModel):
    host: str = Field("127.0.0.1", description="Bind address.")
    port: int = Field(8000, ge=0, le=65535, description="Port.")
    secret_key: str | None = Field(None, description="Session signing key; prefer SIGNET_WEB__SECRET_KEY.")
    secure_cookies: bool = Field(False, description="Mark cookies Secure (set behind TLS).")
    images_dir: Path = Field(Path("var/cloud-images"), description="Content-addressed page images.")
    max_upload_mb: int = Field(50, ge=1, description="Largest upload accepted.")
    max_upload_pages: int = Field(50, ge=1, description="Most pages accepted in one uploaded PDF.")


class IngestConfig(StrictModel):
    host: str = Field("127.0.0.1", description="MQTT broker host.")
    port: int = Field(1883, ge=1, le=65535, description="MQTT broker port.")
    username: str | None = Field(None, description="Ingest's broker user.")
    password: str | None = Field(None, description="Ingest's broker password (prefer the environment).")
    client_id: str = Field("ingest-1", description="MQTT client id (unique per worker).")
    batch_size: int = Field(200, ge=1, description="Results written per transaction at most.")
    batch_wait_ms: int = Field(50, ge=0, description="How long a partial batch waits for more.")
    offline_after_s: float = Field(120.0, gt=0, description="A device silent this long is marked offline.")


class MlflowConfig(StrictModel):
    tracking_uri: str = Field("http://127.0.0.1:5000", description="MLflow tracking server.")


class CloudConfig(StrictModel):
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)
