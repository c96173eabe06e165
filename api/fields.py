"""The field types of every request body, path and query parameter, stated in the OpenAPI
document exactly as the server enforces them, so what the document allows the server accepts.

    RowId                    ids within the databases' integer range (1 .. MAX_ID): a larger
                             number is a 422, never a database overflow (paths: `deps.IdPath`)
    Day                      a date both databases store and the engine computes with
    TextN                    text of at most N characters, with something besides spaces, no
                             NUL byte (PostgreSQL cannot store one) and no lone surrogate;
                             surrounding spaces are stripped, as the engine strips them
    Note                     the same, possibly empty, not stripped
    OneOf(values)            one of the engine's own values (kinds, levels, ratings...), as an
                             `enum` in the schema
    TimeZone, Language       an IANA zone name; a language the emails are written in

Patterns use explicit character classes, never `\\s`: the document's regular expressions are
read by JavaScript, Python (test generators) and Rust (pydantic) alike, whose ideas of a space
differ. Spaces here are what Python's `str.strip` removes, as the engine strips.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import Query
from pydantic import (
    AfterValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from cycle_engine.errors import InvalidInput
from cycle_engine.store.tables.alliances import LANGUAGES

MAX_ID = 2**31 - 1
#: What Python's `str.strip()` removes (and the engine strips), as a character class body.
SPACES = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: Text with at least one character that is neither a space nor NUL, and no NUL anywhere.
TEXT_PATTERN = rf"^[^\x00]*[^\x00{SPACES}][^\x00]*$"
#: Any text without NUL (possibly empty).
NO_NUL_PATTERN = r"^[^\x00]*$"
#: A name safe in a path or a query: letters, digits, `_` and `-`.
KEY_PATTERN = r"^[A-Za-z0-9_-]+$"
#: Dates the engine plans with: far wider than any cycle, well inside what both databases store.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
#: The schema says the years by pattern (JSON Schema has no minimum for a date).
Day = Annotated[
    date,
    Field(ge=FIRST_DAY, le=LAST_DAY, json_schema_extra={"pattern": r"^(19|2[0-9])[0-9]{2}-"}),
]


def unstorable(value: str) -> str | None:
    """Why no database stores `value` (a NUL character: PostgreSQL refuses it and SQLite would
    keep it; a lone surrogate: not UTF-8), or None. The one check every text input passes."""
    if "\x00" in value:
        return "must not contain a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (a lone surrogate is not)"
    return None


def refuse_unstorable(field: str, value: str) -> None:
    """Raise InvalidInput naming `field` when `value` is `unstorable` (forms outside pydantic)."""
    problem = unstorable(value)
    if problem is not None:
        raise InvalidInput(field, problem)


def _clean(value: str) -> str:
    problem = unstorable(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _strip(value: str) -> str:
    return _clean(value).strip()


def _text(max_length: int) -> StringConstraints:
    return StringConstraints(min_length=1, max_length=max_length, pattern=TEXT_PATTERN)


Strip = AfterValidator(_strip)
NoNul = AfterValidator(_clean)
#: Text of 1 to N characters, not only spaces, no NUL; stripped (see the module docstring).
Text100 = Annotated[str, _text(100), Strip]
Text200 = Annotated[str, _text(200), Strip]
Text300 = Annotated[str, _text(300), Strip]
Text2000 = Annotated[str, _text(2000), Strip]
Text10000 = Annotated[str, _text(10000), Strip]
Text20000 = Annotated[str, _text(20000), Strip]
#: Text of at most 5000 characters, possibly empty, no NUL; kept as sent.
Note = Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL_PATTERN), NoNul]


@dataclass(frozen=True)
class OneOf:
    """Annotation: the value is one of `values` (the engine's own list), an `enum` in the
    schema: `Annotated[str, OneOf(LEVELS)]`."""

    values: tuple[str, ...]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        found = handler(schema)
        found["enum"] = list(self.values)
        return found

    def _check(self, value: str) -> str:
        if value not in self.values:
            raise ValueError(f"must be one of {', '.join(self.values)}")
        return value


def query_text(max_length: int, *, description: str | None = None) -> Any:
    """A text query parameter: at most `max_length` characters, no NUL."""
    return Query(max_length=max_length, pattern=NO_NUL_PATTERN, description=description)


def _zone(value: str) -> str:
    if value not in _ZONES:
        raise ValueError("must be an IANA time zone name like America/Guatemala")
    return value


_ZONES = frozenset(available_timezones())
#: An IANA time zone name (the schema lists the names this server knows).
TimeZone = Annotated[
    str,
    AfterValidator(_zone),
    WithJsonSchema(
        {"type": "string", "enum": sorted(_ZONES), "description": "An IANA time zone name."}
    ),
]
Language = Annotated[str, OneOf(LANGUAGES), Field(description="The language of emails.")]
