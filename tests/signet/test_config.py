"""Settings: YAML plus SIGNET_* overrides, every error reported with its path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cloud.config import CloudConfig
from edge.config import EdgeConfig
from signet.config import ConfigError, env_overrides, load_settings


def test_env_overrides_nest_and_type_values() -> None:
    env = {
        "SIGNET_SYNC__BROKER__PORT": "8883",
        "SIGNET_SYNC__BROKER__TLS": "true",
        "PATH": "/bin",
        "SIGNET_CONFIG": "x",
    }
    assert env_overrides(env) == {"sync": {"broker": {"port": 8883, "tls": True}}}


def test_yaml_then_env_override(tmp_path: Path) -> None:
    f = tmp_path / "edge.yaml"
    f.write_text("device:\n  id: kiosk-07\n  site: lyon\nsync:\n  broker:\n    port: 1884\n")
    cfg = load_settings(EdgeConfig, f, environ={"SIGNET_SYNC__BROKER__PORT": "1999"})
    assert cfg.device.id == "kiosk-07"
    assert cfg.sync.broker.port == 1999


def test_every_error_is_reported_with_its_path(tmp_path: Path) -> None:
    f = tmp_path / "edge.yaml"
    f.write_text("detectr:\n  backend: onnx\ndetector:\n  backend: cuda\nsync:\n  broker:\n    port: 70000\n")
    with pytest.raises(ConfigError) as err:
        load_settings(EdgeConfig, f, environ={})
    text = "\n".join(err.value.errors)
    assert "detectr: Extra inputs are not permitted" in text
    assert "detector.backend" in text
    assert "sync.broker.port" in text
    assert len(err.value.errors) == 3


def test_bad_yaml_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "x.yaml"
    f.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(EdgeConfig, f, environ={})


def test_cloud_defaults_validate() -> None:
    assert CloudConfig().database.url.startswith("sqlite:///")


def test_every_setting_is_described() -> None:
    from pydantic import BaseModel

    def walk(model: type[BaseModel], prefix: str) -> list[str]:
        missing = []
        for name, info in model.model_fields.items():
            ann = info.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                missing += walk(ann, f"{prefix}{name}.")
            elif not info.description:
                missing.append(prefix + name)
        return missing

    assert walk(EdgeConfig, "") == []
    assert walk(CloudConfig, "") == []


def test_config_check_command_prints_paths(tmp_path: Path) -> None:
    f = tmp_path / "edge.yaml"
    f.write_text("detector:\n  threads: 0\n")
    run = subprocess.run(
        [sys.executable, "-m", "signet.cli", "config", "check", str(f)], capture_output=True, text=True
    )
    assert run.returncode == 1
    assert "detector.threads" in run.stderr
    good = tmp_path / "ok.yaml"
    good.write_text("device:\n  id: a1\n")
    run = subprocess.run(
        [sys.executable, "-m", "signet.cli", "config", "check", str(good)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "ok" in run.stdout
