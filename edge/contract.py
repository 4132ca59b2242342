"""The edge-to-cloud wire contract, defined once (the cloud imports it).

Every message carries ``schema_version``. A message with a version this build does not know is
refused with a reason that says so, never half-read. Unknown keys are errors (``extra="forbid"``):
a misspelt key must not vanish on the way to the cloud. Boxes are normalised to [0, 1] of the page
so they do not depend on the resolution the page was processed at.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS = frozenset({1})
TOPIC_PREFIX = "signet/v1"
MAX_MESSAGE_BYTES = 1_048_576  # a Result with a long OCR text stays far below this

DOC_TYPES: tuple[str, ...] = (
    "invoice",
    "receipt",
    "contract",
    "letter",
    "mandate",
    "delivery_note",
    "purchase_order",
    "payslip",
    "kyc_form",
    "other",
)

DEVICE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegMs = Annotated[float, Field(ge=0.0)]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> uuid.UUID:
    """Result and command ids are made where the thing happens (on the device for results)."""
    return uuid.uuid4()


class ContractError(ValueError):
    """A message that does not follow the contract; ``reason`` is what a dead-letter row stores."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, ser_json_inf_nan="null")


class Versioned(Wire):
    schema_version: int = Field(SCHEMA_VERSION, description="Contract version of this message.")

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, v: int) -> int:
        if v not in SUPPORTED_SCHEMA_VERSIONS:
            raise ValueError(
                f"unsupported schema_version {v}: this build understands {sorted(SUPPORTED_SCHEMA_VERSIONS)}"
            )
        return v


def _check_device_id(v: str) -> str:
    if not DEVICE_ID_RE.match(v):
        raise ValueError("device_id must be 1-64 of a-z 0-9 _ - and start with a letter or digit")
    return v


class Box(Wire):
    """Axis-aligned box, corners normalised to the page ([0, 1], origin top-left)."""

    x1: Unit
    y1: Unit
    x2: Unit
    y2: Unit

    @model_validator(mode="after")
    def _ordered(self) -> Box:
        if self.x2 <= self.x1 or self.y2 <= self.y1:
            raise ValueError("box must have x2 > x1 and y2 > y1")
        return self


class Signature(Wire):
    box: Box
    score: Unit = Field(description="Detector confidence.")


class SourceRef(Wire):
    kind: Literal["camera", "csi", "rtsp", "video", "folder", "sane", "file", "upload"]
    uri: str = Field(max_length=2048)
    page_index: int = Field(0, ge=0, description="0-based page within the file or frame sequence.")
    page_count: int | None = Field(None, ge=1)


class PageImage(Wire):
    sha256: str = Field(description="Content address of the page image as stored (hex).")
    width: int = Field(gt=0, le=100_000)
    height: int = Field(gt=0, le=100_000)
    dpi: int | None = Field(None, gt=0, le=2400)
    upload: Literal["none", "thumbnail", "full"] = Field(
        "none", description="What the device uploads over HTTPS."
    )

    @field_validator("sha256")
    @classmethod
    def _hex(cls, v: str) -> str:
        if not SHA256_RE.match(v):
            raise ValueError("sha256 must be 64 lowercase hex characters")
        return v


FieldScalar = str | int | float | bool | None


class FieldValue(Wire):
    """One extracted field: normalised value (ISO date, decimal string, ISO 4217 code...)."""

    value: FieldScalar
    confidence: Unit
    raw: str | None = Field(None, max_length=2000, description="The text it was read from.")
    words: list[int] = Field(default_factory=list, description="Indices of the OCR words it came from.")


class LineItem(Wire):
    description: str = Field("", max_length=2000)
    quantity: float | None = None
    unit_price: float | None = None
    amount: float | None = None
    confidence: Unit = 1.0


class Check(Wire):
    """A consistency check on the fields (sum of lines = total, QR matches text, ...)."""

    name: str = Field(max_length=100)
    ok: bool
    detail: str = Field("", max_length=2000)


class Code(Wire):
    """A decoded QR code or barcode."""

    kind: Literal["qr", "barcode"]
    payload: str = Field(max_length=8000)
    box: Box | None = None


class Fields(Wire):
    values: dict[str, FieldValue] = Field(default_factory=dict)
    line_items: list[LineItem] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    codes: list[Code] = Field(default_factory=list)


class DocType(Wire):
    label: str
    confidence: Unit
    needs_review: bool
    scores: dict[str, Unit] = Field(default_factory=dict, description="Calibrated probability per label.")

    @field_validator("label")
    @classmethod
    def _known_label(cls, v: str) -> str:
        if v not in DOC_TYPES:
            raise ValueError(f"unknown document type {v!r}; expected one of {', '.join(DOC_TYPES)}")
        return v


class ModelRef(Wire):
    name: str = Field(max_length=200)
    version: str = Field(max_length=100)


class ModelsUsed(Wire):
    detector: ModelRef
    classifier: ModelRef
    ocr: ModelRef
    handwriting: ModelRef | None = Field(
        None,
        description="The handwriting word model that kept handwritten words out of the text; "
        "null where none looked at the page (camera pages, a device without the model).",
    )


class Result(Versioned):
    """One page's reading, made on the device. ``result_id`` is the idempotency key."""

    result_id: uuid.UUID = Field(default_factory=new_id)
    device_id: str
    site: str = Field(max_length=200)
    source: SourceRef
    captured_at: AwareDatetime
    processed_at: AwareDatetime
    image: PageImage
    signatures: list[Signature] = Field(default_factory=list, max_length=200)
    signature_count: int = Field(ge=0)
    text: str = Field("", max_length=200_000)
    fields: Fields = Field(default_factory=Fields)
    doc_type: DocType
    models: ModelsUsed
    timings_ms: dict[str, NonNegMs] = Field(default_factory=dict)
    status: Literal["ok", "partial", "failed"] = "ok"
    errors: list[str] = Field(default_factory=list, description="What went wrong in a stage, if anything.")

    _device = field_validator("device_id")(_check_device_id)

    @model_validator(mode="after")
    def _count_matches(self) -> Result:
        if self.signature_count != len(self.signatures):
            raise ValueError(
                f"signature_count {self.signature_count} does not match {len(self.signatures)} signatures"
            )
        if self.processed_at < self.captured_at:
            raise ValueError("processed_at is before captured_at")
        return self


class Status(Versioned):
    """Availability, retained; the broker publishes the ``offline`` one as the last will."""

    device_id: str
    state: Literal["online", "offline"]
    at: AwareDatetime = Field(default_factory=utcnow)
    site: str | None = None
    versions: dict[str, str] = Field(default_factory=dict, description="software, detector, classifier, ocr.")

    _device = field_validator("device_id")(_check_device_id)


class Health(Versioned):
    device_id: str
    at: AwareDatetime = Field(default_factory=utcnow)
    uptime_s: float = Field(0.0, ge=0)
    fps: float = Field(0.0, ge=0)
    queues: dict[str, int] = Field(default_factory=dict)
    outbox_backlog: int = Field(0, ge=0)
    stage_ms: dict[str, NonNegMs] = Field(
        default_factory=dict, description="Recent median latency per stage."
    )
    pages_processed: int = Field(0, ge=0)
    pages_failed: int = Field(0, ge=0)
    cpu_percent: float | None = Field(None, ge=0)
    cpu_temp_c: float | None = None
    gpu_temp_c: float | None = None
    memory_used_mb: float | None = Field(None, ge=0)
    memory_total_mb: float | None = Field(None, ge=0)
    rss_mb: float | None = Field(None, ge=0)
    disk_free_mb: float | None = Field(None, ge=0)
    intake_paused: str | None = Field(None, description="Why intake is paused (disk full, ...), if it is.")

    _device = field_validator("device_id")(_check_device_id)


CommandName = Literal["ping", "config", "model", "rollback"]


class Command(Versioned):
    command_id: uuid.UUID = Field(default_factory=new_id)
    name: CommandName
    issued_at: AwareDatetime = Field(default_factory=utcnow)
    args: dict[str, Any] = Field(default_factory=dict)


CommandPhase = Literal[
    "received", "running", "ok", "failed",
    "downloading", "verifying", "building", "testing", "active", "rolled_back",
]  # fmt: skip


class CommandState(Versioned):
    """A command's outcome (retained on ``.../cmd/<name>/state``)."""

    command_id: uuid.UUID | None = None
    device_id: str
    name: CommandName
    state: CommandPhase
    at: AwareDatetime = Field(default_factory=utcnow)
    detail: str = Field("", max_length=4000)
    progress: Unit | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    _device = field_validator("device_id")(_check_device_id)


# The models a device runs that the registry can roll out. A kind added here is refused by devices
# built before it (extra values are errors): devices are upgraded before such a model is promoted.
ModelKind = Literal["detector", "classifier", "handwriting"]
MODEL_KINDS: tuple[str, ...] = get_args(ModelKind)


def file_label(metadata: dict[str, str]) -> str | None:
    """The ``name:version`` that results give a model file no rollout renamed: the name and version in
    its ONNX metadata (the detector's JSON-encoded under ``signet.``, the reader models' plain);
    None where the file names neither. A rollout names it by the registry's version instead."""
    name, version = metadata.get("signet.name"), metadata.get("signet.version")
    if name and version:
        try:
            name, version = json.loads(name), json.loads(version)
        except ValueError:
            return None
    else:
        name, version = metadata.get("name"), metadata.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        return None
    return f"{name}:{version}"


class DesiredModel(Wire):
    kind: ModelKind
    name: str = Field(max_length=200)
    version: str = Field(max_length=100)
    sha256: str
    size: int = Field(gt=0)
    url: str = Field(max_length=2048)

    @field_validator("sha256")
    @classmethod
    def _hex(cls, v: str) -> str:
        if not SHA256_RE.match(v):
            raise ValueError("sha256 must be 64 lowercase hex characters")
        return v


class DesiredModels(Versioned):
    """Retained on ``signet/v1/fleet/model/desired`` (or a device's own topic when targeted)."""

    rollout_id: uuid.UUID = Field(default_factory=new_id)
    issued_at: AwareDatetime = Field(default_factory=utcnow)
    models: list[DesiredModel] = Field(min_length=1)
    devices: list[str] | None = Field(None, description="When set, only these devices act on it (canary).")


MESSAGE_MODELS: dict[str, type[Versioned]] = {
    "result": Result,
    "status": Status,
    "health": Health,
    "command": Command,
    "command_state": CommandState,
    "desired_models": DesiredModels,
}


# -- topics ---------------------------------------------------------------------------------


def result_topic(device_id: str) -> str:
    return f"{TOPIC_PREFIX}/{device_id}/result"


def status_topic(device_id: str) -> str:
    return f"{TOPIC_PREFIX}/{device_id}/status"


def health_topic(device_id: str) -> str:
    return f"{TOPIC_PREFIX}/{device_id}/health"


def command_topic(device_id: str, name: str) -> str:
    return f"{TOPIC_PREFIX}/{device_id}/cmd/{name}"


def command_state_topic(device_id: str, name: str) -> str:
    return f"{TOPIC_PREFIX}/{device_id}/cmd/{name}/state"


FLEET_DESIRED_TOPIC = f"{TOPIC_PREFIX}/fleet/model/desired"


def device_desired_topic(device_id: str) -> str:
    return f"{TOPIC_PREFIX}/{device_id}/model/desired"


def parse_topic(topic: str) -> tuple[str, str]:
    """``signet/v1/<device>/<rest>`` -> (device, rest). Raises ContractError otherwise."""
    prefix = TOPIC_PREFIX + "/"
    if not topic.startswith(prefix):
        raise ContractError(f"topic {topic!r} is not under {TOPIC_PREFIX}")
    device, _, rest = topic[len(prefix) :].partition("/")
    if not rest or not DEVICE_ID_RE.match(device):
        raise ContractError(f"topic {topic!r} does not name a valid device")
    return device, rest


# -- decoding -------------------------------------------------------------------------------


def decode(model: type[Versioned], payload: bytes | str) -> Any:
    """Parse and validate one message; every failure is a ContractError with a readable reason."""
    if isinstance(payload, bytes) and len(payload) > MAX_MESSAGE_BYTES:
        raise ContractError(f"payload of {len(payload)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ContractError(f"expected a JSON object, got {type(doc).__name__}")
    version = doc.get("schema_version")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise ContractError(
            f"schema_version: unsupported schema_version {version!r}: "
            f"this build understands {sorted(SUPPORTED_SCHEMA_VERSIONS)}"
        )
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:10]:
            loc = ".".join(str(p) for p in err["loc"]) or "<root>"
            parts.append(f"{loc}: {err['msg']}")
        raise ContractError("; ".join(parts)) from exc


def encode(message: Wire) -> bytes:
    return message.model_dump_json().encode("utf-8")
