"""The fake unit of work answers every port the use cases may ask for, with the ports' own signatures, or says
plainly that it leaves that port to the databases: a method added to services/ports.py fails here until the fake
learns it (or lists its port as unsupported)."""

from __future__ import annotations

import inspect
import typing
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dealdesk.services import ports
from tests.fake_uow import UNSUPPORTED, FakeUnitOfWork
from tests.integration.builders import FixedClock

GIVEN = {"clock"}
"""Attributes the test hands the fake rather than the fake implementing them."""


def _fake() -> FakeUnitOfWork:
    return FakeUnitOfWork(FixedClock(datetime(2024, 6, 14, tzinfo=UTC), ZoneInfo("UTC")))


STATICALLY_A_UNIT_OF_WORK: ports.UnitOfWork = _fake()
"""mypy checks the same structurally: the fake must be a UnitOfWork wherever the use cases take one."""


def _port_attributes() -> dict[str, Any]:
    """Each attribute of the UnitOfWork protocol and the port protocol it answers with."""
    return {
        name: typing.get_type_hints(member.fget)["return"]
        for name, member in vars(ports.UnitOfWork).items()
        if isinstance(member, property)
    }


def _parameters(function: Any) -> inspect.Signature:
    """A method's parameters: names, kinds, defaults and their annotations' text (mypy checks what it answers)."""
    return inspect.signature(function).replace(return_annotation=inspect.Signature.empty)


def _methods(cls: type) -> dict[str, inspect.Signature]:
    """The public methods a class declares (a protocol's are its port's methods)."""
    return {name: _parameters(fn) for name, fn in vars(cls).items() if inspect.isfunction(fn) and name[0] != "_"}


def _supported() -> list[str]:
    return sorted(set(_port_attributes()) - set(UNSUPPORTED) - GIVEN)


@pytest.mark.parametrize("attribute", _supported())
def test_the_fake_implements_every_method_of_each_port_it_supports_with_the_same_signature(attribute: str) -> None:
    port = _port_attributes()[attribute]
    implementation = type(getattr(_fake(), attribute))

    for name, signature in _methods(port).items():
        assert hasattr(implementation, name), f"the fake's uow.{attribute} lacks {port.__name__}.{name}"
        assert _parameters(getattr(implementation, name)) == signature, f"{port.__name__}.{name}"


def test_the_fake_runs_transactions_as_the_port_declares_them() -> None:
    for name, signature in _methods(ports.UnitOfWork).items():
        assert _parameters(getattr(FakeUnitOfWork, name)) == signature, name


@pytest.mark.parametrize("attribute", sorted(UNSUPPORTED))
def test_a_port_the_fake_leaves_to_the_databases_fails_loudly_naming_it(attribute: str) -> None:
    port = _port_attributes()[attribute]

    with pytest.raises(NotImplementedError, match=f"{port.__name__} \\(uow.{attribute}\\)"):
        getattr(_fake(), attribute)


def test_every_port_is_an_attribute_of_the_unit_of_work_and_every_unsupported_one_is_one_of_them() -> None:
    """A protocol added to ports.py but not to UnitOfWork would escape the checks above."""
    declared = {
        value
        for value in vars(ports).values()
        if isinstance(value, type) and getattr(value, "_is_protocol", False) and value.__module__ == ports.__name__
    }
    assert declared - set(_port_attributes().values()) == {ports.UnitOfWork}
    assert set(UNSUPPORTED) <= set(_port_attributes())


def test_the_fake_counts_a_transaction_as_committed_only_when_its_block_ends_without_raising() -> None:
    uow = _fake()
    with pytest.raises(ValueError), uow.transaction():
        raise ValueError
    assert uow.committed is False

    with uow.transaction():
        pass
    assert uow.committed is True
