"""Rendering pages and fragments in the visitor's language, with htmx in mind: a full page for a plain
request, the fragment alone for an htmx one, and toasts delivered out of band."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from dealdesk.web.i18n import Language, Languages
from dealdesk.web.ui import labels

WEB_DIR = Path(__file__).parent.parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"


@dataclass(frozen=True)
class Toast:
    """A short message about what just happened, shown on top of the page without moving it."""

    message: str
    kind: Literal["success", "error"] = "success"


def csrf_token(request: Request) -> str:
    """Set on the request by the session middleware; every form and htmx request sends it back."""
    return str(getattr(request.state, "csrf_token", ""))


def _language(context: Context) -> Language:
    language: Language = context["language"]
    return language


@pass_context
def _gettext(context: Context, message: str) -> str:
    return _language(context).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return _language(context).ngettext(singular, plural, count)


@pass_context
def _pgettext(context: Context, message_context: str, message: str) -> str:
    return _language(context).pgettext(message_context, message)


@pass_context
def _money(context: Context, amount: Decimal | None, currency: str) -> str:
    return "" if amount is None else _language(context).money(amount, currency)


@pass_context
def _number(context: Context, value: Decimal) -> str:
    return _language(context).number(value)


@pass_context
def _day(context: Context, value: date | None) -> str:
    return "" if value is None else _language(context).day(value)


@pass_context
def _moment(context: Context, value: datetime | None) -> str:
    zone: ZoneInfo = context["zone"]
    return "" if value is None else _language(context).moment(value, zone)


@pass_context
def _label(context: Context, value: StrEnum) -> str:
    return labels.label(_language(context), value)


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # The i18n extension adds this method; newstyle gettext escapes and formats `%(name)s` safely.
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, pgettext=_pgettext, newstyle=True
    )
    environment.globals["csrf_token"] = csrf_token
    environment.filters.update(money=_money, number=_number, day=_day, moment=_moment, label=_label)
    return environment


@dataclass(frozen=True)
class PageKit:
    """What every page needs, loaded once when the app starts: templates and the language catalogues."""

    environment: Environment
    languages: Languages

    @classmethod
    def load(cls) -> PageKit:
        return cls(environment=_environment(), languages=Languages.load())


@dataclass(frozen=True)
class PageView:
    """One request's view of the UI: its language, the business time zone, and how to answer."""

    request: Request
    kit: PageKit
    language: Language
    zone: ZoneInfo

    @property
    def htmx(self) -> bool:
        return self.request.headers.get("HX-Request") == "true"

    def gettext(self, message: str, **values: object) -> str:
        text = self.language.gettext(message)
        return text % values if values else text

    def render(
        self,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
        toasts: Sequence[Toast] = (),
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """A page template extends the full layout, or only the fragment layout when htmx asks."""
        values = {
            "request": self.request,
            "language": self.language,
            "languages": self.kit.languages.available,
            "zone": self.zone,
            "layout": "fragment.html" if self.htmx else "layout.html",
            "toasts": toasts,
            "out_of_band": False,
            **(context or {}),
        }
        html = self.kit.environment.get_template(template).render(values)
        if self.htmx and toasts:
            html += self.kit.environment.get_template("_toasts.html").render({**values, "out_of_band": True})
        # The same address answers in another language for another cookie or Accept-Language.
        return HTMLResponse(html, status_code=status, headers={"Vary": "Accept-Language, Cookie", **(headers or {})})
