"""One exception base per layer: every public exception class of a layer derives from its base."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from bot.errors import IntakeError
from outbox.errors import OutboxError
from parsers.errors import ParseError
from rules.errors import RulesError

BASES = {"parsers": ParseError, "rules": RulesError, "outbox": OutboxError, "bot": IntakeError}


def exception_classes(package: str) -> list[type[BaseException]]:
    pkg = importlib.import_module(package)
    found = []
    for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == info.name
                    and not name.startswith("_")):
                found.append(obj)
    return found


@pytest.mark.parametrize("package", sorted(BASES))
def test_every_error_of_a_layer_derives_from_its_base(package):
    classes = exception_classes(package)
    assert classes, package
    stray = [f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, BASES[package])]
    assert stray == []
