"""Letterbox preprocessing and the conversions that keep odd images from crashing detection."""

from __future__ import annotations

import numpy as np
import pytest

from edge.detect.preprocess import InvalidImage, letterbox, preprocess, to_bgr8


def test_given_grey_image_when_converted_then_three_equal_channels() -> None:
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = to_bgr8(grey)
    assert out.shape == (3, 4, 3)
    assert np.array_equal(out[..., 0], grey) and np.array_equal(out[..., 2], grey)


def test_given_rgba_with_transparent_pixels_when_converted_then_they_become_white() -> None:
    img = np.zeros((2, 2, 4), np.uint8)
    img[0, 0] = (10, 20, 30, 255)  # opaque
    out = to_bgr8(img)
    assert tuple(out[0, 0]) == (10, 20, 30)
    assert tuple(out[1, 1]) == (255, 255, 255)


def test_given_16bit_image_when_converted_then_scaled_to_8bit() -> None:
    img = np.full((2, 2, 3), 65535, np.uint16)
    img[0, 0] = 0
    out = to_bgr8(img)
    assert out.dtype == np.uint8 and out[1, 1, 0] == 255 and out[0, 0, 0] == 0


def test_given_float_image_in_unit_range_when_converted_then_scaled() -> None:
    out = to_bgr8(np.full((2, 2), 0.5, np.float32))
    assert out[0, 0, 0] in (127, 128)


@pytest.mark.parametrize(
    ("image", "why"),
    [
        (np.zeros((0, 10, 3), np.uint8), "empty"),
        (np.zeros((10, 10, 2), np.uint8), "channels"),
        (np.zeros((2, 2, 2, 3), np.uint8), "shape"),
        (np.zeros((4, 4), np.complex64), "pixel type"),
        (np.full((4, 4), np.nan, np.float32), "NaN"),
        ("not an image", "numpy array"),
        (None, "numpy array"),
    ],
)
def test_given_unusable_input_when_converted_then_clear_error(image: object, why: str) -> None:
    with pytest.raises(InvalidImage, match=why):
        to_bgr8(image)


def test_given_portrait_page_when_letterboxed_then_centred_on_white_with_aspect_kept() -> None:
    page = np.zeros((200, 100, 3), np.uint8)
    canvas, lb = letterbox(page, 64)
    assert canvas.shape == (64, 64, 3)
    assert lb.scale == pytest.approx(0.32) and lb.pad_x == 16 and lb.pad_y == 0
    assert canvas[:, :16].min() == 255 and canvas[:, 16:48].max() == 0


@pytest.mark.parametrize("shape", [(1, 1), (1, 1, 3), (20, 20_000, 3), (20_000, 3), (3, 20_000)])
def test_given_extreme_sizes_when_preprocessed_then_static_tensor(shape: tuple[int, ...]) -> None:
    tensor, lb = preprocess(np.full(shape, 200, np.uint8), 64)
    assert tensor.shape == (1, 3, 64, 64) and tensor.dtype == np.float32
    assert np.isfinite(tensor).all() and lb.width == shape[1] and lb.height == shape[0]


def test_given_normalised_tensor_then_white_is_one_and_black_minus_one() -> None:
    tensor, _ = preprocess(np.zeros((64, 64, 3), np.uint8), 64)
    assert tensor.min() == pytest.approx(-1.0)
    tensor, _ = preprocess(np.full((64, 64, 3), 255, np.uint8), 64)
    assert tensor.max() == pytest.approx(1.0)
