"""DossierFacts to and from JSON, so that every version stored in SQLite can be judged again later."""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from datetime import date, datetime
from pathlib import Path
from typing import Any

from parsers.facts import DossierFacts


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, paths, datetimes and bytes-free containers as JSON-ready values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, bytes):  # attachment payloads live in the archive, not in JSON
                continue
            out[f.name] = to_jsonable(value)
        return out
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, date):  # datetime too (a subclass)
        return obj.isoformat()
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    return obj


def dumps_facts(facts: DossierFacts) -> str:
    """One dossier's facts as a JSON string (attachment payload bytes are left out)."""
    return json.dumps(to_jsonable(facts), ensure_ascii=False)


def loads_facts(text: str) -> DossierFacts:
    """The inverse of ``dumps_facts``."""
    return _build(DossierFacts, json.loads(text))


@functools.cache
def _hints(tp: type) -> dict[str, Any]:
    """A dataclass's resolved field types (resolving them is most of the cost of decoding)."""
    return typing.get_type_hints(tp)


def _build(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _build(args[0], value) if len(args) == 1 else value
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        return [_build(item, v) for v in value]
    if origin is dict:
        args = typing.get_args(tp)
        return {k: _build(args[1], v) for k, v in value.items()} if args else dict(value)
    if origin is typing.Literal:
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in value:
                kwargs[f.name] = _build(hints[f.name], value[f.name])
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                kwargs[f.name] = b"" if hints[f.name] is bytes else None
        return tp(**kwargs)
    if tp is Path:
        return Path(value)
    if tp is datetime:
        return datetime.fromisoformat(value)
    if tp is date:
        return date.fromisoformat(value)
    return value
