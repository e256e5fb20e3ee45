"""Validate metrics.json against the JSON Schema shipped with the package."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema

from pavae.utils.io import to_jsonable


def load_schema() -> dict[str, Any]:
    """Return the metrics.json schema (``pavae/schema/metrics.schema.json``)."""
    return json.loads(resources.files("pavae").joinpath("schema/metrics.schema.json").read_text(encoding="utf-8"))


def validate_metrics(content: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the first violation when ``content`` breaks the schema."""
    try:
        jsonschema.validate(to_jsonable(content), load_schema())
    except jsonschema.ValidationError as error:
        location = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        raise ValueError(f"metrics.json does not match its schema at {location}: {error.message}") from error
