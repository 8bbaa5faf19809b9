"""An in-memory unit of work for the use-case tests: see tests/fake_uow/uow.py."""

from tests.fake_uow.data import FakeStore
from tests.fake_uow.uow import UNSUPPORTED, FakeUnitOfWork

__all__ = ["UNSUPPORTED", "FakeStore", "FakeUnitOfWork"]
