"""Run config and resource fields taken from the core's parameter dataclasses, so each default has one home.

The course's Hydra config becomes Dagster config with the same names: a Config class (or a configurable
resource) built with `fields_of(SomeParams)` shows every field of the dataclass in the Launchpad, with the
dataclass's default, and follows it when a field is added or changed.
"""

from __future__ import annotations

import dataclasses
import typing

from dagster import Config
from pydantic import Field


def fields_of(params: type, base: type = Config) -> type:
    """A subclass of `base` with one field per field of the dataclass `params`, same type and default; a
    field's `metadata={"description": ...}` becomes its description in the Launchpad."""
    hints = typing.get_type_hints(params)
    annotations, defaults = {}, {}
    for field in dataclasses.fields(params):
        annotations[field.name] = hints[field.name]
        defaults[field.name] = Field(default=field.default, description=field.metadata.get("description"))
    namespace = {"__annotations__": annotations, "__module__": __name__, **defaults}
    return type(f"{params.__name__}Fields", (base,), namespace)
