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
    secret_key_file: Path | None = Field(
        None,
        description="File holding the session signing key (systemd credential); `serve` creates one under var/ if neither is set.",
    )
    secure_cookies: bool = Field(False, description="Mark cookies Secure (set behind TLS).")
    images_dir: Path = Field(Path("var/cloud-images"), description="Content-addressed page images.")
    max_upload_mb: int = Field(50, ge=1, description="Largest upload accepted.")
    max_upload_pages: int = Field(50, ge=1, description="Most pages accepted in one uploaded PDF.")
    max_image_mb: float = Field(20.0, gt=0, description="Largest page image a device may upload.")
    session_hours: float = Field(12.0, gt=0, description="How long a login lasts.")
    login_max_failures: int = Field(
        5, ge=1, description="Failed logins per username in the window before refusing."
    )
    login_window_s: int = Field(900, ge=1, description="Window for counting failed logins, in seconds.")
    workers: int = Field(2, ge=1, description="gunicorn worker processes (`signet cloud serve`).")
    threads: int = Field(4, ge=1, description="Threads per gunicorn worker.")
    migrate_on_start: bool = Field(
        True, description="Apply migrations at app start on SQLite (PostgreSQL: `signet cloud db upgrade`)."
    )


class IngestConfig(StrictModel):
    host: str = Field("127.0.0.1", description="MQTT broker host.")
    port: int = Field(1883, ge=1, le=65535, description="MQTT broker port.")
    username: str | None = Field(None, description="Ingest's broker user.")
    password: str | None = Field(None, description="Ingest's broker password (prefer the environment).")
    client_id: str = Field("ingest-1", description="MQTT client id (unique per worker).")
    batch_size: int = Field(200, ge=1, description="Results written per transaction at most.")
    batch_wait_ms: int = Field(50, ge=0, description="How long a partial batch waits for more.")
    offline_after_s: float = Field(120.0, gt=0, description="A device silent this long is marked offline.")
    password_file: Path | None = Field(
        None, description="File holding ingest's broker password (systemd credential)."
    )
    tls: bool = Field(False, description="Connect to the broker with TLS.")
    ca_file: Path | None = Field(None, description="CA certificate for TLS.")
    keepalive_s: int = Field(30, ge=5, description="MQTT keepalive.")
    session_expiry_s: int = Field(
        7 * 24 * 3600, ge=0, description="Persistent session lifetime on the broker."
    )
    max_payload_bytes: int = Field(1_048_576, ge=1024, description="Larger messages are dead-lettered.")
    sweep_interval_s: float = Field(10.0, gt=0, description="How often silent devices are looked for.")


class BrokerAdminConfig(StrictModel):
    """Where `signet cloud devices|broker` keep the Mosquitto credentials it manages."""

    dir: Path = Field(
        Path("var/broker"), description="Folder of mosquitto.conf, password file, ACL and certificates."
    )
    host: str = Field(
        "127.0.0.1", description="Broker host devices connect to (printed in their config snippet)."
    )
    port: int = Field(8883, ge=1, le=65535, description="Broker TLS port devices connect to.")
    cloud_url: str = Field("https://127.0.0.1:8000", description="Cloud base URL devices upload images to.")


class AlertsConfig(StrictModel):
    check_interval_s: float = Field(
        60.0, gt=0, description="How often the alert rules run in `signet cloud serve`."
    )
    offline_after_min: float = Field(10.0, gt=0, description="Alert when a device is silent this long.")
    error_rate: float = Field(
        0.2, gt=0, le=1, description="Alert when this share of recent pages failed or were partial."
    )
    error_window_min: float = Field(30.0, gt=0, description="Window for the error rate.")
    error_min_pages: int = Field(
        20, ge=1, description="Fewest pages in the window before the error rate counts."
    )
    backlog_pages: int = Field(1000, ge=1, description="Alert when a device's outbox backlog exceeds this.")
    unsigned_contracts: bool = Field(
        True, description="Alert on documents of a type expecting a signature with none."
    )
    unsigned_window_min: float = Field(60.0, gt=0, description="Look-back for unsigned documents.")
    webhook_url: str | None = Field(None, description="POST each new alert as JSON here.")
    webhook_timeout_s: float = Field(5.0, gt=0, description="Webhook request timeout.")
    smtp_host: str | None = Field(None, description="SMTP server for alert e-mails (unset: no e-mail).")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    smtp_starttls: bool = Field(True, description="Use STARTTLS (turn off only for a local relay).")
    smtp_username: str | None = Field(None, description="SMTP user.")
    smtp_password: str | None = Field(None, description="SMTP password; prefer SIGNET_ALERTS__SMTP_PASSWORD.")
    smtp_from: str = Field("signet@localhost", description="Sender address.")
    smtp_to: list[str] = Field(default_factory=list, description="Recipients of alert e-mails.")


class MlflowConfig(StrictModel):
    tracking_uri: str = Field("http://127.0.0.1:5000", description="MLflow tracking server.")
    backend_store_uri: str = Field(
        "sqlite:///var/mlflow/mlflow.db",
        description="`signet cloud mlflow`: the server's run and registry store.",
    )
    artifacts_destination: Path = Field(
        Path("var/mlflow/artifacts"),
        description="`signet cloud mlflow`: where the server keeps proxied artifacts.",
    )
    host: str = Field(
        "127.0.0.1", description="`signet cloud mlflow`: bind address (loopback unless behind a proxy)."
    )
    port: int = Field(5000, ge=1, le=65535, description="`signet cloud mlflow`: port.")
    workers: int = Field(1, ge=1, le=16, description="`signet cloud mlflow`: server worker processes.")
    packages_dir: Path = Field(Path("var/registry/packages"), description="Model packages built for devices.")
    state_db: Path = Field(
        Path("var/registry/rollouts.db"), description="Rollouts, desired models and device progress."
    )
    device_base_url: str = Field(
        "http://127.0.0.1:8000",
        description="Cloud URL as devices reach it; model download URLs start with it.",
    )
    drift_psi_threshold: float = Field(
        0.2, gt=0, description="PSI above this on any distribution raises a drift alert."
    )


class CloudConfig(StrictModel):
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    broker: BrokerAdminConfig = Field(default_factory=BrokerAdminConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
