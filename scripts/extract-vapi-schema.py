#!/usr/bin/env python3
"""Extract the assistant schemas from Vapi's published OpenAPI document.

Reads Vapi's OpenAPI 3.0 document (the one @vapi-ai/server-sdk is generated from), takes
CreateAssistantDTO, UpdateAssistantDTO and Assistant with every schema they reference, and
writes them as one JSON Schema (draft-07) document with those schemas under `definitions`.
assistantd validates assistants with it (src/domain/vapi_schema.cpp) and vapi-sim judges
request bodies with it through a different validator (valijson).

The conversion states in data what Vapi's server does and OpenAPI 3.0 cannot say:
- Vapi validates with NestJS's whitelist (class-validator `forbidNonWhitelisted`): a property
  an object's DTO does not declare is refused ("property x should not exist") at every depth.
  So every object schema that declares `properties` gets `additionalProperties: false`
  unless it states its own `additionalProperties`.
- `nullable: true` becomes a `"null"` member of `type` (or an `anyOf` with `{"type": "null"}`).
- A pattern written as a JavaScript literal (`/^x$/u`) loses its slashes and flags.
- An `enum` given beside `items` on an array schema (a generator quirk) is dropped: its
  members already sit on `items`.
- `oneOf` becomes `anyOf`. The document writes unions such as "a preset voice id, or any
  string" as oneOf, whose exactly-one rule would refuse every preset (it matches both); Vapi
  accepts a value that any alternative accepts.
- A schema typed `object` whose `enum` lists only strings (BackoffPlan.type, a generator
  quirk: the values are "fixed" and "exponential") is typed `string`.
- An empty `enum` (a provider without presets) stays; it matches nothing, as in the document.
- OpenAPI-only annotations (`discriminator`, `example`, `examples`) are dropped.
Nothing else changes: limits, enums, required lists and defaults are Vapi's.

Usage: scripts/extract-vapi-schema.py [OPENAPI_JSON] [OUTPUT]
  defaults: ../shared/spec/vapi-openapi.json and schema/vapi-assistant.schema.json
"""

import hashlib
import json
import pathlib
import re
import subprocess
import sys

ROOTS = ["CreateAssistantDTO", "UpdateAssistantDTO", "Assistant"]
SDK_VERSION = "@vapi-ai/server-sdk 2.0.1"
REF_PREFIX = "#/components/schemas/"
DROPPED = {"discriminator", "example", "examples"}
# Keywords whose value is a map of name -> schema, a schema, or a list of schemas.
MAP_KEYWORDS = {"properties"}
SCHEMA_KEYWORDS = {"items", "additionalProperties", "not"}
LIST_KEYWORDS = {"allOf", "anyOf", "oneOf"}


def references(schema, out):
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref":
                if not value.startswith(REF_PREFIX):
                    raise SystemExit(f"unsupported reference {value}")
                out.add(value[len(REF_PREFIX):])
            else:
                references(value, out)
    elif isinstance(schema, list):
        for value in schema:
            references(value, out)


def closure(schemas, roots):
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in schemas:
            raise SystemExit(f"schema {name} is referenced but not defined")
        seen.add(name)
        found = set()
        references(schemas[name], found)
        todo.extend(sorted(found - seen))
    return sorted(seen)


def pattern(text):
    match = re.fullmatch(r"/(.*)/([a-z]*)", text, re.S)
    return match.group(1) if match else text


def convert(schema):
    if not isinstance(schema, dict):
        raise SystemExit(f"schema expected, got {schema!r}")
    out = {}
    for key, value in schema.items():
        if key in DROPPED or key == "nullable":
            continue
        if key == "$ref":
            out[key] = "#/definitions/" + value[len(REF_PREFIX):]
        elif key in MAP_KEYWORDS:
            out[key] = {name: convert(child) for name, child in value.items()}
        elif key in SCHEMA_KEYWORDS and isinstance(value, dict):
            out[key] = convert(value)
        elif key in LIST_KEYWORDS:
            out["anyOf" if key == "oneOf" else key] = [convert(child) for child in value]
        elif key == "pattern":
            out[key] = pattern(value)
        else:
            out[key] = value
    if out.get("type") == "array" and "enum" in out and "items" in out:
        del out["enum"]
    if out.get("type") == "object" and out.get("enum") and all(
            isinstance(v, str) for v in out["enum"]):
        out["type"] = "string"
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if schema.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        else:
            annotations = {k: out.pop(k) for k in ("description", "title", "default") if k in out}
            out = {"anyOf": [out, {"type": "null"}], **annotations}
    return out


def main():
    source = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/spec/vapi-openapi.json")
    target = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "schema/vapi-assistant.schema.json")
    raw = source.read_bytes()
    document = json.loads(raw)
    schemas = document["components"]["schemas"]
    names = closure(schemas, ROOTS)
    result = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$comment": (
            f"Generated by scripts/extract-vapi-schema.py from Vapi's OpenAPI document "
            f"(info.version {document['info'].get('version', '?')}, sha256 "
            f"{hashlib.sha256(raw).hexdigest()}; the document {SDK_VERSION} is generated from). "
            f"Do not edit: rerun the script on a newer document."),
        "x-vapi-source": {
            "sha256": hashlib.sha256(raw).hexdigest(),
            "sdk": SDK_VERSION,
            "schemas": len(names),
        },
        "definitions": {name: convert(schemas[name]) for name in names},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"{target}: {len(names)} schemas from {source}")
    # The documents describing the schema follow it.
    subprocess.run([sys.executable, str(pathlib.Path(__file__).with_name("render-vapi-docs.py"))],
                   check=True)


if __name__ == "__main__":
    main()
