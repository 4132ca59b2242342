"""Edge settings: one pydantic model per section, loaded in ``main()`` (never at import).

Each section belongs to the part that uses it; the owner of a part extends its section here.
Secrets (broker password, HTTP token) are not written in the YAML: they come from
``SIGNET_*`` environment variables or a systemd credential file named by ``*_file`` fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from signet.config import StrictModel


class DeviceConfig(StrictModel):
    id: str = Field("dev-local", description="Device id: MQTT client id and topic segment (a-z 0-9 _ -).")
    site: str = Field("local", description="Site (branch or kiosk location) the device belongs to.")


class SourceConfig(StrictModel):
    uri: str = Field(
        "folder://./var/inbox",
        description="Frame source: /dev/videoN, v4l2://N, csi://N, rtsp://..., file://video.mp4, folder:///path, sane://device.",
    )
    pdf_dpi: int = Field(200, ge=50, le=600, description="Resolution PDFs are rendered at.")
    pdf_max_pages: int = Field(50, ge=1, le=1000, description="Pages beyond this are refused with a reason.")
    max_image_pixels: int = Field(120_000_000, ge=1, description="Larger images are refused, not decoded.")
    settle_s: float = Field(1.0, ge=0, description="Folder source: a file must stop growing for this long.")
    reconnect_s: float = Field(2.0, gt=0, description="Cameras: first reconnect delay (doubles up to 30 s).")
    width: int = Field(
        1920,
        gt=0,
        description="Camera capture width. The reader needs the page about 950 px long in the still: "
        "1080p is the least that reads a held A4 page; a document camera (8 MP) reads it lying flat.",
    )
    height: int = Field(1080, gt=0, description="Camera capture height.")
    fps: float = Field(30.0, gt=0, description="Camera capture rate (and file:// playback pacing).")
    realtime: bool = Field(True, description="file:// video: pace playback at fps like a camera.")
    loop: bool = Field(
        False, description="file:// video: start again at the end, like a camera that never stops (demo)."
    )
    also: list[str] = Field(
        default_factory=list,
        description="More sources run side by side, same URI forms (e.g. a camera and a scan folder at one station).",
    )
    done_dir: Path | None = Field(
        None, description="Folder source: processed files go here (default <folder>/done)."
    )
    failed_dir: Path | None = Field(
        None,
        description="Folder source: refused files go here with a .reason.txt beside them (default <folder>/failed).",
    )
    max_file_mb: int = Field(200, ge=1, description="Folder source: larger files are refused with a reason.")
    scan_dpi: int = Field(300, ge=75, le=1200, description="sane://: scan resolution.")
    scan_interval_s: float = Field(
        3.0, gt=0, description="sane://: pause between batches when the feeder is empty."
    )


class DetectorConfig(StrictModel):
    backend: Literal["onnxruntime", "tensorrt"] = Field("onnxruntime", description="Inference runtime.")
    model: Path = Field(
        Path("models/artifacts/detector.onnx"),
        description="ONNX model file (engine built from it for TensorRT).",
    )
    threads: int = Field(2, ge=1, le=64, description="ONNX Runtime intra-op threads.")
    providers: list[str] = Field(
        default_factory=lambda: ["CPUExecutionProvider"],
        description="ONNX Runtime providers in order of preference (TensorrtExecutionProvider, CUDAExecutionProvider, CPUExecutionProvider).",
    )
    score_threshold: float | None = Field(
        None, ge=0, le=1, description="Overrides the threshold stored in the model."
    )
    engine_cache: Path = Field(
        Path("var/engines"),
        description="TensorRT engines built on the device, per model and TensorRT version.",
    )
    precision: Literal["fp32", "fp16", "int8"] = Field("fp16", description="TensorRT engine precision.")


class ReaderConfig(StrictModel):
    languages: list[str] = Field(default_factory=lambda: ["eng", "fra"], description="Tesseract languages.")
    ocr_timeout_s: float = Field(20.0, gt=0, description="Each Tesseract call is killed after this long.")
    ocr_engine: Literal["libtesseract", "command"] = Field(
        "libtesseract",
        description="libtesseract: one Tesseract engine kept loaded per worker (C API); "
        "command: the tesseract command through pytesseract, a process per page.",
    )
    classifier: Path = Field(
        Path("models/artifacts/classifier.int8.onnx"), description="Document-type classifier (ONNX)."
    )
    review_threshold: float = Field(
        0.80, ge=0, le=1, description="Below this confidence a page needs review."
    )
    handwriting: Path | None = Field(
        Path("models/artifacts/handwriting.onnx"),
        description="Handwriting word model (ONNX): on scans, words it is sure were written by hand "
        "are kept among the words (marked) but left out of the page's text; null turns it off.",
    )
    classifier_label: str | None = Field(
        None,
        description="name:version that results give the classifier (a rollout sets the registry's); "
        "null: the name and version written inside the ONNX file.",
        pattern=r"^[^:]+:[^:]+$",
    )
    handwriting_label: str | None = Field(
        None,
        description="name:version that results give the handwriting model (a rollout sets the "
        "registry's); null: the name and version written inside the ONNX file.",
        pattern=r"^[^:]+:[^:]+$",
    )
    mask_signatures: bool = Field(True, description="Blank detected signatures before OCR.")
    recover_missed: bool = Field(
        True,
        description="Read again, line by line, glyph-like ink that Tesseract's page segmentation "
        "left out (a column of values beside their labels).",
    )


class PipelineConfig(StrictModel):
    workers: int = Field(2, ge=1, le=16, description="Reading worker processes.")
    frame_queue: int = Field(2, ge=1, description="Live frames waiting for detection (drop oldest).")
    page_queue: int = Field(16, ge=1, description="Pages waiting to be read (never dropped; intake blocks).")
    still_s: float = Field(
        0.6, ge=0, description="Live video: how long a page must be still before it is read."
    )
    stage_timeout_s: float = Field(
        60.0, gt=0, description="A stage silent for this long is restarted by the watchdog."
    )
    restart_budget: int = Field(
        5, ge=0, description="Watchdog restarts allowed per hour before the process gives up."
    )
    drain_s: float = Field(30.0, ge=0, description="On SIGTERM: how long pages in flight may take to finish.")
    motion_threshold: float = Field(
        4.0,
        gt=0,
        description="Live video: mean grey-level change between frames under which a frame is still.",
    )
    min_detail: float = Field(
        0.02, ge=0, le=1, description="Live video: share of edge pixels that means a page is in view."
    )
    same_doc_bits: int = Field(
        16,
        ge=0,
        le=256,
        description="Live video: dHash distance (of 256 bits) under which a still page is the one already read.",
    )


class StoreConfig(StrictModel):
    path: Path = Field(Path("var/edge.db"), description="SQLite store (results and outbox).")
    images_dir: Path = Field(Path("var/images"), description="Content-addressed page images.")
    images_quota_mb: int = Field(2048, ge=1, description="Oldest synced images are removed past this.")
    retention_days: int = Field(
        30, ge=1, description="Synced results and images older than this are removed."
    )
    min_free_mb: int = Field(200, ge=0, description="Intake pauses below this much free disk.")


class BrokerConfig(StrictModel):
    host: str = Field("127.0.0.1", description="MQTT broker host.")
    port: int = Field(1883, ge=1, le=65535, description="MQTT broker port (8883 with TLS).")
    username: str | None = Field(None, description="Broker user (normally the device id).")
    password: str | None = Field(
        None, description="Broker password; prefer SIGNET_SYNC__BROKER__PASSWORD or password_file."
    )
    password_file: Path | None = Field(
        None, description="File holding the password (systemd LoadCredential)."
    )
    tls: bool = Field(False, description="Connect with TLS.")
    ca_file: Path | None = Field(None, description="CA certificate for TLS.")
    keepalive_s: int = Field(30, ge=5, description="MQTT keepalive.")
    session_expiry_s: int = Field(
        7 * 24 * 3600, ge=0, description="Persistent session lifetime on the broker."
    )
    reconnect_min_s: float = Field(
        0.5, gt=0, description="First reconnect delay; doubles per failure (with jitter)."
    )
    reconnect_max_s: float = Field(30.0, gt=0, description="Longest reconnect delay.")


class SyncConfig(StrictModel):
    enabled: bool = Field(True, description="Publish results to the cloud.")
    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    cloud_url: str | None = Field(None, description="Cloud base URL for image upload and model download.")
    token: str | None = Field(None, description="Device HTTP token; prefer SIGNET_SYNC__TOKEN or token_file.")
    token_file: Path | None = Field(None, description="File holding the device token.")
    images: Literal["none", "thumbnail", "full"] = Field(
        "thumbnail", description="Which page images are uploaded."
    )
    inflight: int = Field(64, ge=1, le=1000, description="Results published but not yet acknowledged.")
    health_interval_s: float = Field(30.0, gt=0, description="Seconds between health messages.")
    replay_s: float = Field(
        30.0,
        ge=0,
        description="After a reconnect, results acknowledged this recently are sent again (a crashed broker may have lost them; duplicates are harmless).",
    )
    replay_delay_s: float = Field(
        5.0,
        ge=0,
        description="How long after a reconnect the resend happens (cloud workers must have resubscribed: Mosquitto does not restore shared subscriptions after a restart).",
    )
    thumbnail_px: int = Field(512, ge=32, le=4096, description="Longest side of an uploaded thumbnail.")
    http_timeout_s: float = Field(20.0, gt=0, description="Timeout of one image upload request.")
    upload_retry_max_s: float = Field(300.0, gt=0, description="Longest wait between image upload retries.")


class KioskConfig(StrictModel):
    enabled: bool = Field(True, description="Serve the kiosk page.")
    host: str = Field("127.0.0.1", description="Bind address.")
    port: int = Field(8080, ge=0, le=65535, description="Port (0 picks a free one).")
    mode: Literal["auto", "camera", "scanner"] = Field(
        "auto", description="What the page shows; auto follows the source."
    )


class MetricsConfig(StrictModel):
    port: int | None = Field(9108, ge=0, le=65535, description="Prometheus endpoint port; null disables it.")


class RolloutConfig(StrictModel):
    enabled: bool = Field(True, description="Act on the desired models the cloud publishes.")
    models_dir: Path = Field(
        Path("var/models"), description="Downloaded model versions (the active and the previous one)."
    )
    watch_pages: int = Field(
        20, ge=1, description="Pages watched after a swap before the new model is trusted."
    )
    min_pages: int = Field(5, ge=1, description="Pages needed before the error rate can trigger a rollback.")
    max_error_rate: float = Field(
        0.5, ge=0, le=1, description="Failed-page share after a swap that rolls back by itself."
    )
    ca_file: Path | None = Field(
        None, description="CA bundle for HTTPS model downloads (default: the system's)."
    )


class EdgeConfig(StrictModel):
    device: DeviceConfig = Field(default_factory=DeviceConfig)
    source: SourceConfig = Field(default_factory=SourceConfig)
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    reader: ReaderConfig = Field(default_factory=ReaderConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    kiosk: KioskConfig = Field(default_factory=KioskConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
