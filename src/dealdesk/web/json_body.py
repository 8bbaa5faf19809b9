"""Reading JSON bodies so that money keeps its exact decimal text.

The standard parser turns 1250.10 into a binary float and 1e3 into 1000.0, which loses the very thing SPEC §2
asks us to check. Here a JSON number with a fraction becomes a Decimal read from its own text, a number in
exponent notation becomes an `ExponentNumber` that every field refuses, and NaN/Infinity are malformed JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


class ExponentNumber:
    """A JSON number written with an exponent: kept only to be refused with a clear message."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _parse_float(text: str) -> Decimal | ExponentNumber:
    if "e" in text or "E" in text:
        return ExponentNumber(text)
    return Decimal(text)


def _parse_int(text: str) -> int | ExponentNumber:
    return int(text)


def _refuse_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not allowed in JSON", name, 0)


def loads(body: bytes) -> Any:
    return json.loads(body, parse_float=_parse_float, parse_int=_parse_int, parse_constant=_refuse_constant)


class ExactJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class ExactJsonRoute(APIRoute):
    """Every API route reads its body with the exact parser above."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact_handler(request: Request) -> Response:
            return await handler(ExactJsonRequest(request.scope, request.receive))

        return exact_handler
