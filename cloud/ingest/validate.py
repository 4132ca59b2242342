"""Turning one MQTT message into a contract object, or a reason to dead-letter it.

Rules, in order: the topic must be ``signet/v1/<device>/<kind>`` with a kind we ingest; the
payload must be within the size limit, JSON, of a known ``schema_version`` and valid for the
kind's model; and the ``device_id`` inside must be the device named by the topic (the broker's
ACL already stops a device publishing under another's topic, this catches a device lying in the
payload).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.contract import (
    CommandState,
    ContractError,
    Health,
    Result,
    Status,
    Versioned,
    decode,
    parse_topic,
)

KINDS: dict[str, type[Versioned]] = {"result": Result, "status": Status, "health": Health}


@dataclass
class Parsed:
    kind: str  # result | status | health | command_state
    device: str
    message: Any


def parse(topic: str, payload: bytes, max_bytes: int) -> Parsed | None:
    """The validated message, or None for a cleared retained message (empty payload).

    Raises ContractError with the reason to store in the dead-letter table.
    """
    device, rest = parse_topic(topic)
    if rest in KINDS:
        kind, model = rest, KINDS[rest]
    elif rest.startswith("cmd/") and rest.endswith("/state") and rest.count("/") == 2:
        kind, model = "command_state", CommandState
    else:
        raise ContractError(f"topic {topic!r}: no ingest for {rest!r}")
    if not payload:
        if kind in ("status", "command_state"):
            return None  # clearing a retained message is not an error
        raise ContractError("empty payload")
    if len(payload) > max_bytes:
        raise ContractError(f"payload of {len(payload)} bytes exceeds the {max_bytes}-byte limit")
    try:
        # Fast path: pydantic parses and validates the JSON in one pass (about twice as fast as
        # json.loads + model_validate); anything it refuses goes through decode() for the reason.
        msg: Any = model.model_validate_json(payload)
        if "schema_version" not in msg.model_fields_set:
            raise ValueError("schema_version missing")  # the contract requires it explicitly
    except ValueError:
        msg = decode(model, payload)
    if kind == "result" and "result_id" not in msg.model_fields_set:
        # The model would make one up; a result without its own id could never be deduplicated.
        raise ContractError("result_id: missing (the device's id is the idempotency key)")
    if msg.device_id != device:
        raise ContractError(
            f"device_id {msg.device_id!r} in the payload does not match topic device {device!r}"
        )
    if kind == "command_state" and rest.split("/")[1] != msg.name:
        raise ContractError(
            f"command state for {msg.name!r} published on the topic of {rest.split('/')[1]!r}"
        )
    return Parsed(kind, device, msg)
