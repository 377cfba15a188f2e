"""Every item type talks to DynamoDB through a connection of its own.

PynamoDB caches a connection on the class that opened it; a subclass that opened none inherits its
base's, which knows none of the subclass's indexes, so the subclass's next index query fails. Which
class opens first depends on what a warm process happened to run before, so these tests open the
connections in several orders and check every class each time.
"""

from __future__ import annotations

import importlib
import pkgutil
import random
from collections.abc import Iterator

import pytest
from pynamodb.models import Model

import atelier.data
from atelier.data.base import LedgerTableModel, MainTableModel

_SHARED_BASES = (MainTableModel, LedgerTableModel)


def _every_model_class() -> list[type[Model]]:
    for module in pkgutil.iter_modules(atelier.data.__path__):
        importlib.import_module(f"atelier.data.{module.name}")
    found: list[type[Model]] = []
    pending: list[type[Model]] = [MainTableModel, LedgerTableModel]
    while pending:
        klass = pending.pop(0)
        if klass not in found:
            found.append(klass)  # bases before their subclasses
            pending.extend(klass.__subclasses__())
    return found


def _forget_connections(classes: list[type[Model]]) -> None:
    for klass in classes:
        if "_connection" in vars(klass):
            delattr(klass, "_connection")


@pytest.fixture
def model_classes() -> Iterator[list[type[Model]]]:
    classes = _every_model_class()
    _forget_connections(classes)
    yield classes
    _forget_connections(classes)


def _open(klass: type[Model]) -> None:
    try:
        klass._get_connection()
    except TypeError:
        # The shared bases refuse to open one; that refusal is itself checked below.
        assert klass in _SHARED_BASES


def _assert_each_class_has_its_own_connection(classes: list[type[Model]]) -> None:
    for klass in classes:
        if klass in _SHARED_BASES:
            continue
        connection = klass._get_connection()
        assert vars(klass).get("_connection") is connection, f"{klass.__name__} uses a connection it inherited"
        meta = connection.connection.get_meta_table(connection.table_name)
        for index_name in klass._indexes:
            assert meta.has_index_name(index_name), f"{klass.__name__}'s connection does not know {index_name}"


def _orders(classes: list[type[Model]]) -> Iterator[list[type[Model]]]:
    yield list(classes)  # bases first: the order that broke the scheduled work
    yield list(reversed(classes))
    generator = random.Random(20261206)
    for _ in range(5):
        shuffled = list(classes)
        generator.shuffle(shuffled)
        yield shuffled


def test_every_item_type_opens_its_own_connection_whatever_opened_first(
    model_classes: list[type[Model]],
) -> None:
    for order in _orders(model_classes):
        # Given a process in which the item types open their connections in this order
        _forget_connections(model_classes)
        for klass in order:
            _open(klass)
        # When each type then asks for its connection / Then it is its own, knowing its indexes
        _assert_each_class_has_its_own_connection(model_classes)


def test_the_raw_connection_is_not_inherited_by_any_item_type(model_classes: list[type[Model]]) -> None:
    from atelier.data.base import main_table_connection

    # Given the raw connection the privacy code uses for whole-partition and batch work, opened first
    raw = main_table_connection()
    # When every item type opens its own
    _assert_each_class_has_its_own_connection(model_classes)
    # Then exactly one class (the raw rows' own leaf) holds the raw one
    holders = [klass.__name__ for klass in model_classes if vars(klass).get("_connection") is raw]
    assert holders == ["_AnyMainItem"]


@pytest.mark.parametrize("shared_base", _SHARED_BASES, ids=lambda klass: klass.__name__)
def test_a_shared_base_class_refuses_to_open_a_connection(shared_base: type[Model]) -> None:
    # When code asks a base of the item types for a connection / Then it is refused outright
    with pytest.raises(TypeError, match="opens no connection"):
        shared_base._get_connection()
    assert "_connection" not in vars(shared_base) or vars(shared_base)["_connection"] is None


def test_the_item_types_covered_include_those_with_indexes(model_classes: list[type[Model]]) -> None:
    # The check above means something only if the classes with indexes are among those it walks.
    names = {klass.__name__ for klass in model_classes}
    assert {"AssetItem", "AccountItem", "ExpiringItem", "SignInStateItem", "JobItem"} <= names
    assert any(klass._indexes for klass in model_classes)
