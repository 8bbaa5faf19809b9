"""The Import / export page at /moving: download every kind of record as CSV, upload a CSV to import (or only
check) one kind. Uploads are limited like every request body (1 MiB by default); `dealdesk import` on the server
takes files of any size."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.background import BackgroundTask

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import ValidationFailed
from dealdesk.services import exporting, importing
from dealdesk.services.import_support import ImportReport
from dealdesk.services.moving import IMPORT_ORDER, Kind
from dealdesk.web.deps import UowDep
from dealdesk.web.i18n import Language
from dealdesk.web.ui.deps import PageActor, View
from dealdesk.web.ui.import_reasons import shown_reason
from dealdesk.web.ui.routing import PageRoute
from dealdesk.web.ui.screen import may_manage

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SHOWN_PROBLEMS = 200
SPOOL_BYTES = 1_048_576
"""An export is built in memory up to this size, then in a temporary file, and streamed from there."""
PIECE = 65_536


@dataclass(frozen=True)
class KindChoice:
    kind: Kind
    label: str
    hint: str


def kind_choices(lang: Language) -> list[KindChoice]:
    """Every kind, in the order they must be imported."""
    labels = {
        Kind.ACCOUNTS: (lang.gettext("Accounts"), lang.gettext("Import these first.")),
        Kind.COMPETITORS: (lang.gettext("Competitors"), lang.gettext("Names are unique in any case.")),
        Kind.CLOSE_REASONS: (lang.gettext("Close reasons"), lang.gettext("Reason details for won and lost closes.")),
        Kind.OPPORTUNITIES: (
            lang.gettext("Opportunities"),
            lang.gettext("Imported open; a won or lost one closes when its close records are imported."),
        ),
        Kind.QUOTES: (lang.gettext("Quotes"), lang.gettext("One row per quote line.")),
        Kind.CLOSES: (
            lang.gettext("Close records"),
            lang.gettext("Import these last: each closes its opportunity by the close rule."),
        ),
    }
    return [KindChoice(kind, *labels[kind]) for kind in IMPORT_ORDER]


def _page(
    view: View, actor: Actor, *, report: ImportReport | None = None, chosen: str = "", status: int = 200
) -> HTMLResponse:
    context = {
        "kinds": kind_choices(view.language),
        "may_import": may_manage(actor),
        "report": report,
        "shown_problems": [
            (problem, shown_reason(view.language, problem.reason)) for problem in report.problems[:SHOWN_PROBLEMS]
        ]
        if report
        else [],
        "chosen": chosen,
        "max_upload": view.request.app.state.settings.max_body_bytes,
    }
    return view.render("moving/page.html", context, status=status)


@router.get("/moving", response_class=HTMLResponse)
def moving_page(view: View, actor: PageActor) -> HTMLResponse:
    return _page(view, actor)


@router.get("/moving/export/{kind}.csv")
def export_download(kind: Kind, uow: UowDep) -> StreamingResponse:
    """Every record of the kind as a CSV file (UTF-8 with a byte order mark, for spreadsheets)."""
    # Closed by the response once it has been sent, not here: hence no `with`.
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="", write_through=True)
    exporting.export_csv(uow, kind, text)
    text.detach()
    spool.seek(0)

    def pieces() -> Iterator[bytes]:
        while piece := spool.read(PIECE):
            yield piece

    name = f"dealdesk-{kind.value}-{uow.clock.today().isoformat()}.csv"
    return StreamingResponse(
        pieces(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
        background=BackgroundTask(spool.close),
    )


@router.post("/moving/import", response_class=HTMLResponse)
def import_upload(
    view: View,
    uow: UowDep,
    actor: PageActor,
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form()] = "",
    dry_run: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Check every row; import all of it in one transaction, or nothing when a row is bad or it is a dry run."""
    try:
        chosen = Kind(kind)
    except ValueError as exc:
        raise ValidationFailed.field("kind", "choose what the file holds") from exc
    source = io.TextIOWrapper(file.file, encoding="utf-8-sig", newline="")
    try:
        report = importing.import_csv(uow, chosen, source, actor=actor, dry_run=bool(dry_run))
    finally:
        source.detach()
    return _page(view, actor, report=report, chosen=chosen.value, status=200 if report.ok else 422)
