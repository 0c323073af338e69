"""The workflow file format (steward_workflow: 1): writing one as YAML or JSON, and reading
one back with every check a file from elsewhere needs (size, UTF-8, syntax, plain data, the
marker and its version, the definition's shape). The template gallery's files are in it too."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

from governance.engine.definition import DefinitionError
from governance.errors import DomainError

MARKER = "steward_workflow"
FORMAT_VERSION = 1
MAX_BYTES = 256 * 1024
MAX_DEPTH = 20
FORMATS = {"yaml": "application/yaml", "json": "application/json"}
TOP_LEVEL_KEYS = (MARKER, "name", "description", "exported_from", "secrets_left_out", "definition")
YAML_HEADER = (
    "# A Steward workflow (format 1): import it from Workflows > Import.\n"
    "# Users are named by email and groups by name; an import finds them by those.\n"
    "# Secret values are never exported: secrets_left_out lists where to fill them in.\n"
)


class ImportRefused(DomainError):
    """The text is not a workflow file this Steward reads (too large, not UTF-8, not YAML or
    JSON, the wrong shape or format version): nothing of it is looked at further."""


@dataclass(frozen=True)
class Document:
    """A workflow file, read and checked for shape; its definition still names users by email."""

    name: str
    description: str
    definition: dict[str, Any]
    syntax: str = "YAML"  # what it was written in, for messages
    secrets_left_out: list[str] = field(default_factory=list)


def dump(document: dict[str, Any], syntax: str) -> str:
    if syntax == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return YAML_HEADER + body


def dump_definition(definition: dict[str, Any]) -> str:
    """A definition alone as YAML, for reading (a comparison side by side)."""
    return yaml.safe_dump(definition, sort_keys=False, allow_unicode=True, width=100)


def filename(name: str, number: int, syntax: str) -> str:
    """e.g. review-on-submit-v3.yaml: ASCII only, so every browser keeps it as it is."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60] or "workflow"
    return f"{slug}-v{number}.{syntax}"


def _decode(raw: bytes | str) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > MAX_BYTES:
        # An upload is read only this far, so its real size is not known here.
        raise ImportRefused(
            f"The file is larger than {MAX_BYTES // 1024} KB, the most a workflow file may be."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRefused(
            f"The file is not UTF-8 text (byte {error.start + 1} is not UTF-8). Save it as "
            "UTF-8 and try again."
        ) from error
    if not text.strip():
        raise ImportRefused("The file is empty: choose a YAML or JSON workflow file.")
    return text


def _parse(text: str) -> tuple[Any, str]:
    """The data and the syntax it was read as: JSON when it starts like JSON, else YAML."""
    is_json = text.lstrip().startswith(("{", "["))
    try:
        if is_json:
            return json.loads(text), "JSON"
        return yaml.safe_load(text), "YAML"
    except json.JSONDecodeError as error:
        raise ImportRefused(
            f"This is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
        ) from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or "it does not parse"
        raise ImportRefused(f"This is neither valid YAML nor JSON: {problem}{where}.") from error
    except RecursionError as error:
        raise ImportRefused(f"The file is nested more than {MAX_DEPTH} levels deep.") from error


def _check_plain(value: Any, path: str, depth: int, seen: set[int]) -> None:
    """Refuse what a workflow definition cannot hold: YAML's dates, binary, sets and aliases,
    keys that are not text, NaN or infinite numbers, NUL characters, deep nesting."""
    where = f" at {path}" if path else ""
    if depth > MAX_DEPTH:
        raise ImportRefused(f"The file is nested more than {MAX_DEPTH} levels deep{where}.")
    if isinstance(value, dict | list):
        # An alias (*name) is the same object again: expanded, a few lines could fill memory.
        if id(value) in seen:
            raise ImportRefused(f"YAML anchors and aliases (&name, *name) are not accepted{where}.")
        seen.add(id(value))
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ImportRefused(f"Every key must be text; {key!r}{where} is not.")
            _check_plain(item, f"{path}.{key}" if path else key, depth + 1, seen)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_plain(item, f"{path}.{index}" if path else str(index), depth + 1, seen)
    elif isinstance(value, datetime | date):
        raise ImportRefused(f"YAML read {value} as a date{where}; put it in quotes.")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ImportRefused(f"Numbers must be finite (no NaN or infinity){where}.")
    elif isinstance(value, str) and "\x00" in value:
        raise ImportRefused(f"The NUL character cannot be stored{where}; remove it.")
    elif not (value is None or isinstance(value, str | int | float | bool)):
        raise ImportRefused(f"A value{where} is not text, a number, true/false or a list.")


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "text" if isinstance(value, str) else "a single value"


def _shape_errors(definition: Any) -> dict[str, str]:
    """The types the validator relies on, with their paths; the validator checks the values."""
    errors: dict[str, str] = {}

    def expect(value: Any, kinds: tuple[type, ...], path: str, wanted: str) -> bool:
        if value is None or isinstance(value, kinds):
            return True
        errors[path] = f"Expected {wanted}, found {_kind(value)}."
        return False

    if not isinstance(definition, dict):
        return {"definition": f"Expected a mapping (trigger, stages…), found {_kind(definition)}."}
    expect(definition.get("trigger"), (dict,), "trigger", "a mapping (type: …)")
    expect(definition.get("one_step_per_person"), (bool,), "one_step_per_person", "true or false")
    if expect(definition.get("conditions"), (list,), "conditions", "a list of conditions"):
        for index, condition in enumerate(definition.get("conditions") or []):
            expect(condition, (dict,), f"conditions.{index}", "a mapping (field, op, value)")
    if not expect(definition.get("stages"), (list,), "stages", "a list of stages"):
        return errors
    for stage_index, stage in enumerate(definition.get("stages") or []):
        path = f"stages.{stage_index}"
        if not isinstance(stage, dict):
            errors[path] = f"Expected a mapping (steps: …), found {_kind(stage)}."
            continue
        if not expect(stage.get("steps"), (list,), f"{path}.steps", "a list of steps"):
            continue
        for step_index, step in enumerate(stage.get("steps") or []):
            step_path = f"{path}.steps.{step_index}"
            if not isinstance(step, dict):
                errors[step_path] = f"Expected a mapping (key, type, config), found {_kind(step)}."
                continue
            for name in ("key", "type"):
                expect(step.get(name), (str,), f"{step_path}.{name}", "text")
            expect(step.get("config"), (dict,), f"{step_path}.config", "a mapping")
            expect(step.get("when"), (dict,), f"{step_path}.when", "a condition or null")
            expect(step.get("retry"), (dict,), f"{step_path}.retry", "a mapping or null")
    return errors


def read_document(raw: bytes | str) -> Document:
    """The workflow file `raw`, or ImportRefused saying why it is not one this Steward reads.
    A definition of the wrong shape is a DefinitionError with the paths."""
    data, syntax = _parse(_decode(raw))
    _check_plain(data, "", 0, set())
    if not isinstance(data, dict):
        raise ImportRefused(
            f"The {syntax} holds {_kind(data)}, not a workflow: a mapping with "
            f"{MARKER}: {FORMAT_VERSION}, name and definition."
        )
    if MARKER not in data:
        raise ImportRefused(
            f"This is not a Steward workflow file: it has no “{MARKER}: {FORMAT_VERSION}” line "
            "(export one from a workflow's page to see the format)."
        )
    version = data[MARKER]
    if version != FORMAT_VERSION or isinstance(version, bool):
        newer = isinstance(version, int) and not isinstance(version, bool) and version > 1
        raise ImportRefused(
            f"The file is in format {MARKER}: {version}"
            + (", newer than this Steward" if newer else "")
            + f"; this Steward reads format {FORMAT_VERSION} only."
        )
    unknown = [key for key in data if key not in TOP_LEVEL_KEYS]
    if unknown:
        raise ImportRefused(
            f"Unknown field(s) at the top of the file: {', '.join(unknown)}. A workflow file "
            f"has {', '.join(TOP_LEVEL_KEYS)}."
        )
    for name in ("name", "description"):
        if not isinstance(data.get(name) or "", str):
            raise ImportRefused(f"The {name} must be text.")
    if "definition" not in data:
        raise ImportRefused("The file has no definition (the trigger and the stages).")
    if errors := _shape_errors(data["definition"]):
        raise DefinitionError(errors)
    left_out = data.get("secrets_left_out") or []
    return Document(
        name=str(data.get("name") or ""),
        description=str(data.get("description") or ""),
        definition=data["definition"],
        syntax=syntax,
        secrets_left_out=[str(path) for path in left_out] if isinstance(left_out, list) else [],
    )
