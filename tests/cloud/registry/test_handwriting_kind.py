"""The handwriting word model as a third kind the registry tracks and rolls out: the contract
carries it, the device swaps it into its readers, and the cloud's live figures follow the pages
that name it."""

from __future__ import annotations

from pathlib import Path

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
