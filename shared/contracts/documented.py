"""What the OpenAPI document says about rules a validator function enforces.

A pydantic `AfterValidator` is invisible to the JSON Schema, so a client generated from
`/openapi.json` would send values the halves refuse. Each rule whose check is code says
here, next to the type, what it accepts: an enum, a pattern, a non-null optional field.
The patterns may be narrower than the check, never wider (`tests/fuzz` holds them to it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import Field, WithJsonSchema

from shared import categories

# A character that `str.strip()` keeps, in Python's and in ECMA-262's regex dialect alike
# (Python also strips the separators \x1c-\x1f).
_VISIBLE = r"[^\s\x1c-\x1f]"
# A string that is not blank once trimmed, and one that keeps at least two characters.
NOT_BLANK = Field(json_schema_extra={"pattern": _VISIBLE})
TWO_VISIBLE = Field(json_schema_extra={"pattern": rf"{_VISIBLE}[\s\S]*{_VISIBLE}"})
# An http(s) URL with a host: the shape the admin endpoints accept for feeds and links.
HTTP_URL = Field(
    json_schema_extra={"pattern": r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$"}
)


def one_of(values: Iterable[Any]) -> Any:
    """The values a validator accepts, as the schema's `enum`."""
    return Field(json_schema_extra={"enum": list(values)})


def matching(pattern: str) -> Any:
    return Field(json_schema_extra={"pattern": pattern})


def comma_list(
    item: dict[str, Any], *, min_items: int = 1, max_items: int | None = None, unique: bool = False
) -> Any:
    """A query parameter the halves split on commas: an array, sent as one `a,b` value
    (`style: form, explode: false` is added to such parameters by async_api.openapi)."""
    schema: dict[str, Any] = {"type": "array", "items": item, "minItems": min_items}
    if max_items is not None:
        schema["maxItems"] = max_items
    if unique:
        schema["uniqueItems"] = True
    return WithJsonSchema(schema)


KNOWN_CATEGORY_NAMES = [*categories.CATEGORIES, *categories.SUBCATEGORIES]
TOP_CATEGORY = one_of(categories.CATEGORIES)
KNOWN_CATEGORY = one_of(KNOWN_CATEGORY_NAMES)


def not_null(*names: str) -> Callable[[dict[str, Any]], None]:
    """A model's `json_schema_extra`: these fields may be left out, but not sent as null."""

    def edit(schema: dict[str, Any]) -> None:
        for name in names:
            field = schema["properties"][name]
            options = [option for option in field.pop("anyOf") if option != {"type": "null"}]
            field.update(options[0] if len(options) == 1 else {"anyOf": options})

    return edit
