"""The Models page in headless Chromium with two registered versions, a canary on one device and
live results for both (``SIGNET_SCREENSHOTS=docs/screenshots`` refreshes docs/screenshots/models.png)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.registry.test_registry import NAME, World, _promote, _result, world  # noqa: F401 - fixture
from tests.cloud.registry.tiny_onnx import build_tiny_onnx
from tests.e2e.browser_env import REPO, browser  # noqa: F401 - fixture
from tests.e2e.rollout_env import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_given_two_versions_and_a_canary_when_an_admin_opens_the_models_page_then_it_shows_both_side_by_side(
    world: World,  # noqa: F811
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    from cloud.db.engine import session_scope
    from cloud.db.write import upsert_results

    shipped = build_tiny_onnx(tmp_path / "shipped.onnx", scale=1.0)
    _promote(world, world.v1, fleet=True)
    b, c = world.edge("d-b", shipped), world.edge("d-c", shipped)
    wait_until(lambda: b.detector.version == world.v1 and c.detector.version == world.v1, what="fleet on v1")
    _promote(world, world.v2, site="north", percent=60)  # the hash picks d-b of north
    wait_until(lambda: b.detector.version == world.v2, what="canary d-b on v2")
    wait_until(lambda: len(world.svc.store.device_states()) >= 2, what="states recorded")
    with session_scope(world.app.extensions["signet"].engine) as s:
        upsert_results(s, [_result("d-c", world.v1, i % 3, "letter", 2000 + i) for i in range(14)])
        upsert_results(s, [_result("d-b", world.v2, 1, "invoice", 3000 + i) for i in range(9)])
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = ctx.new_page()
    page.goto(world.url + "/login")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(f"{world.url}/models?name={NAME}&a={world.v1}&b={world.v2}")
    assert page.locator(f'[data-testid="version-{world.v1}"]').count() == 1
    assert page.locator(f'[data-testid="version-{world.v2}"]').count() == 1
    assert page.locator('[data-testid="compare"]').inner_text().count("v" + world.v2) >= 1
    assert "Promote" in page.locator(f'[data-testid="model-{NAME}"]').inner_text()
    shots = Path(os.environ.get("SIGNET_SCREENSHOTS") or tmp_path)
    shots = shots if shots.is_absolute() else REPO / shots
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "models.png"), full_page=True)
    assert (shots / "models.png").stat().st_size > 10_000
    # the admin's Promote button goes through the real form, CSRF token included
    page.locator(f'[data-testid="version-{world.v2}"] button[type=submit]').click()
    page.wait_for_load_state("networkidle")
    assert f"{NAME} {world.v2} promoted to the fleet" in page.inner_text("main")
    wait_until(lambda: c.detector.version == world.v2, what="d-c follows the fleet to v2")
    ctx.close()
