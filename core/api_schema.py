"""The REST API's shapes as pydantic models: one definition validates a request (JSON body or
query string), serialises an answer and is described in the OpenAPI document.

- ``Input`` models validate in strict JSON mode: ``1.0`` or ``"5"`` is not a whole number of
  đồng, ``1`` is not a boolean; a refusal is our ``ValidationError`` (422, problem JSON, one
  ``errors`` entry per field at fault, with the operation's refusal code).
- ``Shape`` models are answers: ``answer(model)`` is the JSON; times are ``IctTime`` (ISO 8601
  with +07:00), amounts ``Money`` (``int`` ≥ 0).
- ``components(models)`` is their ``components.schemas`` for the document (``payments.openapi``).

Why not spectree's ``validate`` decorator: it reads the body with ``request.get_json(silent=True)
or {}``, so a malformed or non-JSON body would be validated as ``{}`` (a 422 instead of our 400),
a key given twice would silently keep its last value, and the body's size limit would be read
around. The body is read by ``payments.api.json_body`` and validated here, with the same models.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Iterable, Mapping, TypeVar

from flask import jsonify
from pydantic import (AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints,
                      WithJsonSchema)
from pydantic import ValidationError as PydanticError
from pydantic.json_schema import GenerateJsonSchema, SkipJsonSchema, models_json_schema

from core.clock import isoformat_ict
from core.errors import FieldError as Mistake
from core.errors import ValidationError

# --- the types every shape uses ------------------------------------------------------------

MONEY_DESCRIPTION = "Whole đồng (VND); never a fraction."
Money = Annotated[int, Field(ge=0, description=MONEY_DESCRIPTION, examples=[8000])]
Count = Annotated[int, Field(ge=0)]
# A number kept as given: 5 stays 5, 1.5 stays 1.5 (a float field would write 5.0).
Number = Annotated[int | float, WithJsonSchema({"type": "number"})]
Rate = Annotated[int | float | None, WithJsonSchema({
    "type": ["number", "null"], "minimum": 0, "maximum": 1,
    "description": "A share between 0 and 1 (not a percentage); null when the denominator is 0."})]
TIME_SCHEMA = {"type": "string", "format": "date-time",
               "description": "ISO 8601 with the Indochina Time offset (+07:00).",
               "examples": ["2026-11-25T09:00:00+07:00"]}
# An aware moment, written in Indochina Time whatever zone it is kept in.
IctTime = Annotated[datetime, PlainSerializer(isoformat_ict, return_type=str), WithJsonSchema(TIME_SCHEMA)]
# A moment a caller sends: an offset is required ("Z" too); kept as UTC.
InputTime = Annotated[AwareDatetime, WithJsonSchema({**TIME_SCHEMA, "description": "ISO 8601 with an offset."})]


def absent(**field: Any) -> Any:
    """A field left out of the answer when it has no value (``SkipJsonSchema[None]`` in its type
    keeps null out of its description)."""
    return Field(None, exclude_if=lambda value: value is None, **field)


def _storable(value: str) -> str:
    # No NUL (PostgreSQL refuses it) and no lone surrogates (no encoding takes them).
    if "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value):
        raise ValueError("contains a NUL character or invalid Unicode")
    return value


def text(max_length: int, *, min_length: int = 1, **field: Any) -> Any:
    """A string stripped of surrounding blanks, ``min_length``..``max_length`` characters that
    any database stores."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
                     AfterValidator(_storable), Field(**field)]


def blank_is_none(value: Any) -> Any:
    """An optional field sent as ``""`` (a form's empty input) is absent."""
    return None if isinstance(value, str) and not value.strip() else value


class Shape(BaseModel):
    """An answer of the API: every field always present (null when it has no value)."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True, validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True)


class Input(BaseModel):
    """A request body or query string. Keys nobody reads are ignored, as they always were."""

    model_config = ConfigDict(extra="ignore", strict=True)


# --- validating --------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)

_MESSAGES = {"missing": "required", "extra_forbidden": "not a field of this object"}


def _where(loc: Iterable[Any]) -> str:
    """``('charges', 0, 'amount')`` → ``charges[0].amount``; a model validator's error → ``body``."""
    where = ""
    for part in loc:
        if isinstance(part, int):
            where += f"[{part}]"
        elif part != "__root__":
            where += f".{part}" if where else str(part)
    return where or "body"


def field_errors(exc: PydanticError) -> list[Mistake]:
    found: list[Mistake] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [p for p in error["loc"] if not (isinstance(p, str) and "[" in p)]  # drop union-branch labels
        message = _MESSAGES.get(error["type"], error["msg"])
        if error["type"] == "value_error":
            message = str(error.get("ctx", {}).get("error", message))
        entry = Mistake(_where(loc), message)
        if entry not in found:
            found.append(entry)
    return found


def validate(model: type[M], value: Any, *, detail: str, code: str | None = None) -> M:
    """``value`` (a parsed JSON value) as ``model``, or a 422 naming each field at fault."""
    try:
        return model.model_validate_json(json.dumps(value, ensure_ascii=False), strict=True)
    except PydanticError as exc:
        raise ValidationError(detail, errors=field_errors(exc)[:20], code=code) from None


def validate_query(model: type[M], args: Mapping[str, str], *, detail: str = "the query is not valid",
                   code: str | None = None) -> M:
    """A query string as ``model``: strings as given (empty means absent), read in lax mode so
    that ``after=12`` is a number."""
    values = {key: value for key, value in args.items() if value != ""}
    try:
        return model.model_validate(values, strict=False)
    except PydanticError as exc:
        raise ValidationError(detail, errors=field_errors(exc)[:20], code=code) from None


def answer(shape: BaseModel, status: int = 200, headers: Mapping[str, str] | None = None):
    """The JSON of an answer (problem JSON is ``core.web``'s)."""
    response = jsonify(shape.model_dump(mode="json"))
    response.status_code = status
    response.headers.update(headers or {})
    return response


# --- describing ---------------------------------------------------------------------------


class _Generator(GenerateJsonSchema):
    """Pydantic's JSON Schema, as the document has always written it: ``{"type": ["string",
    "null"]}`` for a nullable scalar, no title on every field, no ``default: null``."""

    def field_title_should_be_set(self, schema) -> bool:
        return False

    def nullable_schema(self, schema):
        inner = self.generate_inner(schema["schema"])
        kind = inner.get("type")
        if isinstance(kind, str) and "$ref" not in inner and "enum" not in inner:
            return {**inner, "type": [kind, "null"]}
        return super().nullable_schema(schema)

    def default_schema(self, schema):
        result = super().default_schema(schema)
        if result.get("default", ...) is None:
            result.pop("default")
        return result


REF_TEMPLATE = "#/components/schemas/{model}"


def components(inputs: Iterable[type[BaseModel]] = (), shapes: Iterable[type[BaseModel]] = ()) -> dict[str, Any]:
    """``components.schemas`` for these models and every model they use, written as the document
    always had them: enums (the StrEnums of ``core.vocabulary``) where they are used, and a
    nullable object as one schema of type ``["object", "null"]`` rather than ``anyOf``."""
    models = [(m, "validation") for m in inputs] + [(m, "serialization") for m in shapes]
    _, top = models_json_schema(models, ref_template=REF_TEMPLATE, schema_generator=_Generator)
    found = top.get("$defs", {})
    enums = {name for name, schema in found.items() if "enum" in schema}
    return {name: _inline(schema, found) for name, schema in found.items() if name not in enums}


def _target(node: dict[str, Any], defs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    name = node.get("$ref", "").removeprefix(REF_TEMPLATE.format(model=""))
    return (name, defs[name]) if name in defs else None


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _inline(value, defs) for key, value in node.items()}
    found = _target(node, defs)
    if found and "enum" in found[1]:
        enum = {k: v for k, v in found[1].items() if k not in ("title", "description")}
        node = {**enum, **{k: v for k, v in node.items() if k != "$ref"}}
    branches = node.get("anyOf")
    if branches and len(branches) == 2 and {"type": "null"} in branches:
        other = branches[0] if branches[1] == {"type": "null"} else branches[1]
        found = _target(other, defs)
        if found:  # a nullable object: the object's schema, null allowed
            other = {k: v for k, v in _inline(found[1], defs).items() if k not in ("title", "description")}
        if isinstance(other.get("type"), str):
            merged = {**other, "type": [other["type"], "null"]}
            if "enum" in merged:
                merged["enum"] = [*merged["enum"], None]
            node = {**{k: v for k, v in node.items() if k != "anyOf"}, **merged}
    return node


# --- the error answer every operation shares -----------------------------------------------

class FieldError(Shape):
    field: str = Field(description="Dotted path of the field, e.g. `charges[0].amount`.",
                       examples=["parameters.declared_value"])
    message: str = Field(examples=["required"])


def _refusal_codes() -> list[str]:
    from core.refusals import Refusal

    return [code.value for code in Refusal]


class Problem(Shape):
    """An RFC 7807 problem: every error of the API, as `application/problem+json`."""

    type: str = Field(examples=["about:blank"])
    title: str = Field(description="The HTTP status phrase.", examples=["Conflict"])
    status: int = Field(examples=[409])
    detail: str = Field(description="What is wrong, for people: in English, or in Vietnamese when "
                                    "`Accept-Language` puts `vi` first.")
    code: str = Field(json_schema_extra=lambda schema: schema.update(enum=_refusal_codes()),
                      description="The refusal's stable, machine-readable name; each operation lists the ones it "
                                  "can answer. Generic codes (`bad_request`, `unauthorized`, `forbidden`, "
                                  "`not_found`, `conflict`, `payload_too_large`, `invalid`) name refusals that "
                                  "have no name of their own. Any operation that reads a JSON body answers 422 "
                                  "`duplicate_key` (`params.key` naming it) when one object of the body has the "
                                  "same key twice.")
    params: dict[str, Any] | SkipJsonSchema[None] = absent(
        description="What explains the refusal (amounts in đồng, days as YYYY-MM-DD, references), by name; "
                    "present when there are any.", examples=[{"amount": 1_000_000, "available": 400_000}])
    errors: list[FieldError] | SkipJsonSchema[None] = absent(
        description="Validation errors (422): one per field at fault.")


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The OpenAPI ``parameters`` of a query-string model: one per field, by its alias, with its
    schema, description and first example."""
    schema = components([model])[model.__name__]
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        if isinstance(prop.get("type"), list):  # a query string has no null: absent is absent
            kinds = [kind for kind in prop["type"] if kind != "null"]
            prop["type"] = kinds[0] if len(kinds) == 1 else kinds
            if "enum" in prop:
                prop["enum"] = [value for value in prop["enum"] if value is not None]
        description = prop.pop("description", "")
        examples = prop.pop("examples", None)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": prop,
                     "description": description}
        if examples:
            parameter["example"] = examples[0]
        parameters.append(parameter)
    return parameters
