"""Models page and model downloads: the registry blueprint of the cloud app.

* ``GET /models``: per registered version, offline metrics from MLflow beside live fleet metrics,
  two versions side by side (``?a=&b=``), drift per site and week with the threshold, rollouts
  with the fleet's progress, promote / roll back forms (admins; CSRF-checked by cloud.auth).
* ``GET /api/v1/models/<name>/<version>/package``: the model package for devices (device or API
  token), streamed with ``Range`` support so an interrupted download resumes.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from mlflow.exceptions import MlflowException
from werkzeug.wrappers import Response

from cloud import context
from cloud.auth.core import audit, current_principal, require_role, require_token
from cloud.registry import quality
from cloud.registry.registry import page_labels
from cloud.registry.service import Services, make_services, promote

log = logging.getLogger(__name__)

bp = Blueprint("models", __name__, template_folder="templates")


def services() -> Services:
    """The app's registry services, made on first use (no MLflow call at app creation)."""
    extras = context.state().extras
    if "registry" not in extras:
        extras["registry"] = make_services(context.settings())
    svc: Services = extras["registry"]
    return svc


@bp.route("/api/v1/models/<name>/<version>/package")
@require_token("any")
def package(name: str, version: str) -> Response:
    """The model package of a version (built from MLflow artifacts on first request, then cached)."""
    try:
        pkg = services().registry.package(name, version)
    except Exception as exc:
        log.warning("package %s %s unavailable: %s", name, version, exc)
        abort(404, description=f"no package for {name} {version}")
    # conditional=True: werkzeug answers Range requests with 206 and honours If-Range/ETag.
    return send_file(
        pkg.path,
        mimetype="application/x-tar",
        as_attachment=True,
        download_name=f"{name}-{version}.tar",
        conditional=True,
        etag=pkg.sha256,
    )


def _web_context() -> dict[str, Any]:
    """The dashboard's layout variables (nav, user, CSRF) so the page sits in the same frame."""
    try:
        from cloud.web.pages import inject  # F2's layout context; its NAV already lists Models

        return inject()
    except Exception:  # the dashboard blueprint is not installed: a bare layout
        return {"web_nav": [], "web_user": None, "web_csrf": lambda: "", "web_logout_url": None}


@bp.route("/models")
@require_role("viewer")
def page() -> str:
    svc = services()
    s = context.db()
    threshold = svc.cfg.mlflow.drift_psi_threshold
    models: list[dict[str, Any]] = []
    error = None
    try:
        names = svc.registry.model_names()
    except Exception as exc:  # MLflow down: say so on the page instead of a 500
        names, error = [], f"MLflow at {svc.cfg.mlflow.tracking_uri} is not reachable: {exc}"
    for name in names:
        versions = svc.registry.versions(name)
        labels = page_labels(versions)
        rows = [
            {
                "info": v,
                "labels": labels[v.version],
                "live": quality.live_metrics(s, v.kind, name, v.version, labels[v.version]),
            }
            for v in versions
        ]
        models.append({"name": name, "rows": rows, "kind": versions[0].kind if versions else "detector"})
    sel_name = request.args.get("name") or (models[0]["name"] if models else None)
    compare = None
    drift_rows: list[Any] = []
    if sel_name:
        vs: list[dict[str, Any]] = next((m["rows"] for m in models if m["name"] == sel_name), [])
        a = request.args.get("a") or (
            vs[1]["info"].version if len(vs) > 1 else (vs[0]["info"].version if vs else None)
        )
        b = request.args.get("b") or (vs[0]["info"].version if vs else None)
        pick = {r["info"].version: r for r in vs}
        if a in pick and b in pick:
            compare = {"name": sel_name, "a": pick[a], "b": pick[b]}
            keys = sorted(set(pick[a]["info"].metrics) | set(pick[b]["info"].metrics))
            compare["metric_keys"] = keys
        prod = next((r for r in vs if "production" in r["info"].aliases), vs[0] if vs else None)
        if prod is not None:
            val = svc.registry.validation_distribution(sel_name, prod["info"].version) or {}
            pv = prod["info"]
            drift_rows = quality.drift(s, pv.kind, sel_name, pv.version, val, labels=prod["labels"])
            crossed = [d for d in drift_rows if d.worst() > threshold]
            if crossed:
                _drift_alert(sel_name, prod["info"].version, crossed, threshold)
    rollouts = [{**r, "progress": svc.store.progress(r)} for r in svc.store.rollouts(10)]
    p = current_principal()
    return render_template(
        "models/models.html",
        models=models,
        compare=compare,
        sel_name=sel_name,
        drift_rows=drift_rows,
        threshold=threshold,
        rollouts=rollouts,
        device_states=svc.store.device_states(),
        is_admin=bool(p and p.has_role("admin")),
        error=error,
        **_web_context(),
    )


def _drift_alert(name: str, version: str, rows: list[quality.DriftRow], threshold: float) -> None:
    """Open a ``model_drift`` alert (one open alert per model version); the alert loop sends it."""
    msg, details = quality.drift_message(name, version, rows, threshold)
    try:
        if quality.open_drift_alert(context.db(), f"{name}:{version}", msg, details):
            context.db().commit()
            log.warning("drift alert: %s", msg)
    except Exception:
        log.exception("could not open the drift alert")


@bp.route("/models/promote", methods=["POST"])
@require_role("admin")
def promote_view() -> Response:
    f = request.form
    name, version, target = f.get("name", "").strip(), f.get("version", "").strip(), f.get("target", "fleet")
    if not name or not version:
        flash("not promoted: choose a model and a version", "error")
        return redirect(url_for("models.page"))
    try:
        percent = float(f["percent"]) if target == "percent" else None
        out = promote(
            services(),
            name,
            version,
            fleet=target == "fleet",
            site=f.get("site") or None if target in ("site", "percent") else None,
            percent=percent,
            actor=(current_principal().name if current_principal() else "web"),  # type: ignore[union-attr]
        )
    except (ValueError, KeyError, MlflowException) as exc:
        # MlflowException: an unknown model or version in the registry, said as such.
        flash(f"not promoted: {exc}", "error")
        return redirect(url_for("models.page", name=name))
    audit("model_promote", f"{name}:{version}", {"target": target, "devices": out["devices"]})
    context.db().commit()
    who = "the fleet" if out["devices"] is None else f"{len(out['devices'])} device(s)"
    flash(f"{name} {version} promoted to {who}", "ok")
    return redirect(url_for("models.page", name=name))


@bp.route("/models/rollback", methods=["POST"])
@require_role("admin")
def rollback_view() -> Response:
    kind = request.form.get("kind", "detector")
    svc = services()
    try:
        prev = svc.rollouts.rollback_fleet(kind, actor="web")
        svc.registry.set_alias(prev.name, "production", prev.version)
    except ValueError as exc:
        flash(f"not rolled back: {exc}", "error")
        return redirect(url_for("models.page"))
    audit("model_rollback", f"{prev.name}:{prev.version}", {"kind": kind})
    context.db().commit()
    flash(f"fleet {kind} rolled back to {prev.name} {prev.version}", "ok")
    return redirect(url_for("models.page", name=prev.name))
