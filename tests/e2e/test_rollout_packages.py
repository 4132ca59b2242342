"""Model packages and the self-test on their own: what the device refuses before any swap."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from edge.rollout import RolloutError, build_package, extract_package, self_test, write_golden
from tests.cloud.registry.tiny_onnx import build_tiny_onnx, golden_inputs


def test_given_the_same_inputs_when_packaging_twice_then_the_bytes_and_hash_are_identical(
    tmp_path: Path,
) -> None:
    onnx = build_tiny_onnx(tmp_path / "m.onnx")
    golden = write_golden(tmp_path / "m.golden.npz", onnx, golden_inputs())
    a = build_package(tmp_path / "a.tar", "detector", "m", "1", onnx, [golden])
    b = build_package(tmp_path / "b.tar", "detector", "m", "1", onnx, [golden])
    assert a.read_bytes() == b.read_bytes()
    manifest = extract_package(a, tmp_path / "x")
    assert manifest["golden"] == "golden.npz" and manifest["onnx"] == "m.onnx"
    assert "2 golden pages within tolerance" in self_test(
        tmp_path / "x" / "m.onnx", tmp_path / "x" / "golden.npz"
    )


def test_given_a_package_with_a_path_outside_its_folder_when_extracting_then_it_is_refused(
    tmp_path: Path,
) -> None:
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(RolloutError, match="not a plain file name"):
        extract_package(evil, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_given_garbage_or_a_tampered_member_when_extracting_then_the_reason_is_given(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"\x00not a tar" * 100)
    with pytest.raises(RolloutError, match=r"not a valid model package|manifest unreadable"):
        extract_package(junk, tmp_path / "j")
    onnx = build_tiny_onnx(tmp_path / "m.onnx")
    pkg = build_package(tmp_path / "p.tar", "detector", "m", "1", onnx, [])
    raw = bytearray(pkg.read_bytes())
    at = raw.find(b"scale")  # inside the ONNX member: the tar stays readable, the file does not match
    raw[at] ^= 0x01
    pkg.write_bytes(bytes(raw))
    with pytest.raises(RolloutError, match=r"m\.onnx is missing or does not match"):
        extract_package(pkg, tmp_path / "t")


def test_given_no_golden_pages_when_self_testing_then_a_smoke_run_on_zeros_is_done(tmp_path: Path) -> None:
    onnx = build_tiny_onnx(tmp_path / "m.onnx")
    assert "smoke test" in self_test(onnx, None)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"definitely not onnx")
    with pytest.raises(RolloutError, match="model does not load"):
        self_test(broken, None)
