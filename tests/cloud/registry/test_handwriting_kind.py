"""The handwriting word model as a third kind the registry tracks and rolls out: the contract
carries it, the device swaps it into its readers, and the cloud's live figures follow the pages
that name it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from cloud.db.engine import session_scope
from cloud.db.write import upsert_results
from cloud.registry.quality import live_metrics
from edge import contract as c
from edge.config import EdgeConfig
from edge.rollout import pipeline_swapper
from tests.cloud.factories import make_result

SHA = "ab" * 32


def test_given_a_handwriting_model_when_desired_then_the_contract_carries_it_and_refuses_unknown_kinds() -> (
    None
):
    m = {
        "kind": "handwriting",
        "name": "signet-handwriting",
        "version": "2",
        "sha256": SHA,
        "size": 9,
        "url": "https://x/y",
    }
    desired = c.DesiredModels(models=[c.DesiredModel.model_validate(m)])
    assert c.decode(c.DesiredModels, c.encode(desired)).models[0].kind == "handwriting"
    assert set(c.MODEL_KINDS) == {"detector", "classifier", "handwriting"}
    with pytest.raises(ValidationError):
        c.DesiredModel.model_validate({**m, "kind": "stamp"})


def test_given_a_model_of_no_known_kind_when_swapped_then_the_swap_fails_with_the_reason(
    tmp_path: Path,
) -> None:
    # (a handwriting model swapped into a running pipeline: tests/edge/runtime/test_app.py)
    swap = pipeline_swapper(None, EdgeConfig())
    with pytest.raises(ValueError, match="no swap for a stamp model"):
        swap("stamp", tmp_path / "stamp.onnx", c.ModelRef(name="x", version="1"))


def test_given_pages_read_with_a_handwriting_model_when_measured_then_its_figures_count_only_them(
    engine: Engine,
) -> None:
    rs = [make_result(i, handwriting=(i % 2 == 0)) for i in range(6)]
    with session_scope(engine) as s:
        upsert_results(s, rs)
        m = live_metrics(s, "handwriting", "signet-handwriting", "1.0.0")
        assert m.pages == 3 and m.devices == 1
        assert m.mean_confidence is None  # the detector's box scores are not this model's
        assert live_metrics(s, "detector", "sigdet", "1.0.0").pages == 6


def test_given_model_files_when_labelled_then_the_label_is_the_name_and_version_inside_them() -> None:
    detector = {"signet.name": '"signet-detector"', "signet.version": '"1.6.0"', "signet.stride": "8"}
    assert c.file_label(detector) == "signet-detector:1.6.0"  # JSON-encoded values
    assert c.file_label({"name": "signet-handwriting", "version": "1.0.0"}) == "signet-handwriting:1.0.0"
    assert c.file_label({"name": "x"}) is None
    assert c.file_label({"signet.name": "not json", "signet.version": '"1"'}) is None


def _info(version: str, label: str | None, legacy: bool = False) -> Any:
    from cloud.registry.registry import VersionInfo

    tags = (
        {"signature": json.dumps({"metadata": {"name": label.split(":")[0], "version": label.split(":")[1]}})}
        if legacy and label
        else {"file_label": label or ""}
    )
    return VersionInfo("signet-handwriting", version, "handwriting", [], "", 0, None, 0, tags=tags)


def test_given_registered_versions_when_labelling_their_pages_then_a_file_label_counts_only_where_unique() -> (
    None
):
    from cloud.registry.registry import page_labels

    labels = page_labels(
        [
            _info("4", "signet-handwriting:1.2.0"),
            _info("3", "signet-handwriting:1.1.0"),
            _info(
                "2", "signet-handwriting:1.1.0", legacy=True
            ),  # registered before the tag: from its signature
            _info("1", "signet-handwriting:1.0.0", legacy=True),
            _info("5", None),
        ]
    )
    assert labels["4"] == ["signet-handwriting:4", "signet-handwriting:1.2.0"]
    assert labels["3"] == ["signet-handwriting:3"] and labels["2"] == ["signet-handwriting:2"]  # ambiguous
    assert labels["1"] == ["signet-handwriting:1", "signet-handwriting:1.0.0"]
    assert labels["5"] == ["signet-handwriting:5"]


def test_given_pages_naming_a_file_label_when_measured_with_it_then_they_count_for_the_registered_version(
    engine: Engine,
) -> None:
    """A device that runs its shipped file names it by the label inside (``1.0.0``), the registry
    numbers the same file ``1``: the version's live figures count those pages too."""
    with session_scope(engine) as s:
        upsert_results(s, [make_result(i, handwriting=True) for i in range(4)])
        assert live_metrics(s, "handwriting", "signet-handwriting", "1").pages == 0
        m = live_metrics(s, "handwriting", "signet-handwriting", "1", ["signet-handwriting:1.0.0"])
        assert m.pages == 4 and m.devices == 1
