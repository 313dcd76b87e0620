"""JSON paths in widget definitions: written as people read them, and walked through the models."""

from __future__ import annotations

import re
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

Location = tuple[str | int, ...]
"""A JSON path as keys and list indexes: ('display', 'fields', 2)."""
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def format_path(location: Location) -> str:
    """A JSON path as people read it: ('display', 'fields', 2) -> 'display.fields[2]'.

    Keys that are not plain names are quoted: ('dataSource', 'params', 'created[gte]') ->
    "dataSource.params['created[gte]']".
    """
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


def allowed_keys(model: type[BaseModel], location: Location) -> tuple[str, ...] | None:
    """The keys `model` accepts for the object at `location`, or None if it is not one."""
    annotation: Any = model
    for part in location:
        annotation = _container_of(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = next(
                (info for info in annotation.model_fields.values() if info.alias == part), None
            )
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) in (list, dict):
            annotation = get_args(annotation)[-1]
        else:
            return None
    annotation = _container_of(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return tuple(info.alias or name for name, info in annotation.model_fields.items())
    return None


def _container_of(annotation: Any) -> Any:
    # Optional[X] and Annotated[X, ...] stand for X when walking down a path.
    if get_origin(annotation) is Annotated:
        return _container_of(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        members = [member for member in get_args(annotation) if member is not type(None)]
        structured = [m for m in members if get_origin(m) in (list, dict) or isinstance(m, type)]
        return _container_of(structured[0] if structured else members[0])
    return annotation
