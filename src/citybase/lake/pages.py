"""数据湖 pages: versions and lineage, diff between versions, the ingest wizard with progress."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from citybase.catalog.panels import Panel
from citybase.config import get_settings
from citybase.core.errors import CitybaseError
from citybase.core.identity import service as identity
from citybase.core.identity.principal import Principal
from citybase.db import make_session, session_scope
from citybase.lake import service
from citybase.lake.schemas import MODE_LABELS
from citybase.web.security import requires
from citybase.web.templating import env, render

router = APIRouter(include_in_schema=False)


def _catalog(s: Any, code: str) -> Any:
    from citybase.catalog import service as catalog

    return catalog.get_resource(s, code)


def _score(s: Any, code: str, number: int) -> float | None:
    found = service.version_quality(s, code, number)
    return None if found is None else found["score"]


@router.get("/lake", response_class=HTMLResponse)
def overview_page(request: Request, principal: Principal = Depends(requires("lake.read"))) -> Response:
    """数据归集: collection jobs, latest versions, failures, resources waiting for data, collect buttons."""
    with make_session() as s:
        data = service.overview(s, principal)
    return render(request, "lake/overview.html", {**data, "can_ingest": principal.can("lake.ingest"),
                                                  "can_pull": principal.can("lake.source_edit")})


@router.post("/lake/{code}/pull", response_class=HTMLResponse)
def pull_now(code: str, principal: Principal = Depends(requires("lake.source_edit"))) -> Response:
    """立即归集 a database source from the overview."""
    from citybase.lake import jobs
    from citybase.web import flash

    try:
        with make_session() as s:
            service.check_ingest(s, principal, service._resource(s, code))
        v = jobs.pull_one(code)
    except CitybaseError as exc:
        return flash.redirect("/lake", f"{code} 归集失败：{exc.message}", "err")
    return flash.redirect("/lake", f"{code} 已归集第 {v.number} 版，{v.row_count} 行")


@router.get("/lake/{code}", response_class=HTMLResponse)
def versions_page(request: Request, code: str, principal: Principal = Depends(requires("lake.read"))) -> Response:
    with make_session() as s:
        res = service.check_read(s, principal, code)
        versions = service.list_versions(s, code)
        scores = {v.number: _score(s, code, v.number) for v in versions}
        source = service.get_sql_source(s, code)
        can_ingest = principal.can("lake.ingest") and identity.is_provider(principal, res.provider_code)
    return render(request, "lake/versions.html", {"r": res, "versions": versions, "scores": scores,
                                                  "source": source, "can_ingest": can_ingest,
                                                  "keep": get_settings().lake_keep_versions})


@router.get("/lake/{code}/v/{number}", response_class=HTMLResponse)
def version_page(request: Request, code: str, number: int, page: int = 1,
                 principal: Principal = Depends(requires("lake.read"))) -> Response:
    size = 50
    with make_session() as s:
        res = service.check_read(s, principal, code)
        v = service.get_version(s, code, number)
    cols, rows = service.read_rows(v, limit=size, offset=(max(1, page) - 1) * size)
    labels = {f.name: f.label for f in res.fields}
    return render(request, "lake/version.html", {"r": res, "v": v, "columns": cols, "labels": labels,
                                                 "rows": service.mask_rows(res, cols, rows), "page": max(1, page),
                                                 "pages": max(1, -(-v.row_count // size))})


@router.get("/lake/{code}/diff", response_class=HTMLResponse)
def diff_page(request: Request, code: str, new: int, old: int | None = None,
              principal: Principal = Depends(requires("lake.read"))) -> Response:
    with make_session() as s:
        res = service.check_read(s, principal, code)
        d = service.diff(s, code, old, new)
        versions = service.list_versions(s, code)
    samples = {}
    for kind, items in d.samples.items():
        if items:
            cols = list(items[0])
            samples[kind] = (cols, service.mask_rows(res, cols, [tuple(r.values()) for r in items]))
    labels = {f.name: f.label for f in res.fields}
    return render(request, "lake/diff.html", {"r": res, "d": d, "samples": samples, "labels": labels,
                                              "versions": versions})


# --------------------------------------------------------------------------- wizard

@router.get("/lake/{code}/ingest", response_class=HTMLResponse)
def wizard(request: Request, code: str, principal: Principal = Depends(requires("lake.ingest"))) -> Response:
    with make_session() as s:
        res = _catalog(s, code)
        service.check_ingest(s, principal, res)
    return render(request, "lake/wizard.html", {"r": res, "step": 1})


@router.post("/lake/{code}/ingest", response_class=HTMLResponse)
def wizard_upload(request: Request, code: str, file: UploadFile = File(...), encoding: str = Form("auto"),
                  sheet: str = Form(""), principal: Principal = Depends(requires("lake.ingest"))) -> Response:
    """Step 1 → 2: store the upload, show what was detected and the column mapping."""
    with session_scope() as s:
        job = service.create_upload(s, principal, code, file.filename or "upload.csv", file.file)
    return _mapping_step(request, code, job.id, principal, encoding, sheet)


def _mapping_step(request: Request, code: str, job_id: int, principal: Principal, encoding: str,
                  sheet: str, error: CitybaseError | None = None) -> Response:
    with make_session() as s:
        res = _catalog(s, code)
        job = service.get_job(s, principal, job_id)
        path = service.job_upload_path(s, principal, job_id)
        preview = None
        try:
            preview = service.preview_file(s, principal, code, path, encoding=encoding, sheet=sheet or None,
                                           filename=job.filename)
        except CitybaseError as exc:
            error = exc
    return render(request, "lake/wizard.html", {
        "r": res, "step": 2, "job": job, "preview": preview, "error": error, "encoding": encoding, "sheet": sheet,
        "modes": MODE_LABELS, "has_key": any(f.is_key for f in res.fields)},
        status_code=200 if error is None else 422)


@router.post("/lake/{code}/ingest/{job_id}/start", response_class=HTMLResponse)
async def wizard_start(request: Request, code: str, job_id: int,
                       principal: Principal = Depends(requires("lake.ingest"))) -> Response:
    """Step 2 → 3: start the ingest in the background and show its progress."""
    form = await request.form()
    mode = str(form.get("mode") or "replace")
    encoding = str(form.get("encoding") or "auto")
    sheet = str(form.get("sheet") or "")
    mapping = {k[4:]: str(v) for k, v in form.items() if k.startswith("map:")}
    with session_scope() as s:
        service.start_job(s, principal, job_id, mode=mode, encoding=encoding, sheet=sheet or None, mapping=mapping)
    threading.Thread(target=service.run_job, args=(job_id, principal), daemon=True,
                     name=f"ingest-{job_id}").start()
    return RedirectResponse(f"/lake/{code}/ingest/{job_id}", status_code=303)


@router.get("/lake/{code}/ingest/{job_id}", response_class=HTMLResponse)
def wizard_progress(request: Request, code: str, job_id: int,
                    principal: Principal = Depends(requires("lake.ingest"))) -> Response:
    with make_session() as s:
        res = _catalog(s, code)
        job = service.get_job(s, principal, job_id)
        summary = _summary(s, code, job.version_number) if job.version_number else None
    if request.headers.get("hx-request"):
        return HTMLResponse(env.get_template("lake/_progress.html").render(r=res, job=job, summary=summary))
    return render(request, "lake/wizard.html", {"r": res, "step": 3, "job": job, "summary": summary})


def _summary(s: Any, code: str, number: int) -> dict[str, Any] | None:
    found = service.version_quality(s, code, number)
    if found is None:
        return None
    return {"score": found["score"], "failed": found["failed"], "version": service.get_version(s, code, number)}


# --------------------------------------------------------------------------- catalogue panel

def versions_panel(session: Any, principal: Principal, resource: Any) -> Panel | None:
    """The resource page's panel of versions and lineage (through the catalogue panels hook)."""
    if not service.can_read(session, principal, resource):
        return None
    versions = service.list_versions(session, resource.code)[:5]
    html = env.get_template("lake/_panel.html").render(
        r=resource, versions=versions, scores={v.number: _score(session, resource.code, v.number) for v in versions},
        can_ingest=principal.can("lake.ingest") and identity.is_provider(principal, resource.provider_code))
    return Panel(id="lake-versions", title="数据版本与血缘", html=Markup(html), order=10)

