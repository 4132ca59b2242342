"""The corpus page generator: determinism, every document type, exact signature labels."""

from __future__ import annotations

import numpy as np
import pytest

from edge.contract import DOC_TYPES as CONTRACT_DOC_TYPES
from models.corpus import DOC_TYPES, generate_page

LOW_DPI = 80  # reduced-size pages keep the suite fast; geometry and labels work the same


def test_given_doc_types_when_compared_with_the_contract_then_they_are_the_same() -> None:
    assert tuple(DOC_TYPES) == tuple(CONTRACT_DOC_TYPES)


@pytest.mark.parametrize("profile", ["scan", "webcam"])
def test_given_a_seed_when_generated_twice_then_image_and_truth_are_identical(profile: str) -> None:
    a = generate_page(123, profile, "fr", dpi=LOW_DPI)
    b = generate_page(123, profile, "fr", dpi=LOW_DPI)
    assert a.meta == b.meta
    assert np.array_equal(a.image, b.image)
    assert a.encoded == b.encoded
    c = generate_page(124, profile, "fr", dpi=LOW_DPI)
    assert c.meta["text"] != a.meta["text"]


@pytest.mark.parametrize("doc_type", DOC_TYPES)
def test_given_each_doc_type_when_generated_then_page_has_text_fields_and_valid_boxes(doc_type: str) -> None:
    for seed, profile, lang in ((1, "scan", "en"), (2, "webcam", "fr")):
        p = generate_page(seed, profile, lang, doc_type, dpi=LOW_DPI)
        m = p.meta
        assert m["doc_type"] == doc_type and m["profile"] == profile and m["lang"] == lang
        assert p.image.dtype == np.uint8 and p.image.ndim == 3 and p.image.shape[2] == 3
        assert (m["height"], m["width"]) == p.image.shape[:2]
        assert len(m["text"]) > 20
        assert m["fields"].get("date")
        for item in m["signatures"] + m["negatives"]:
            x1, y1, x2, y2 = item["box"]
            assert 0 <= x1 < x2 <= m["width"] and 0 <= y1 < y2 <= m["height"]
