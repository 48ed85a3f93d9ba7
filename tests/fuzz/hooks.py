"""Schemathesis hooks (`SCHEMATHESIS_HOOKS=tests.fuzz.hooks`): aim some requests at real data.

`tests.fuzz.seed` created a skill, sources, a run, a key and a user, and passes their
identifiers in `SKREG_FUZZ_SEED` (JSON). Each becomes the `example` of the path
parameter of the same name, so the examples and coverage phases reach past 404, and
the fuzzing phase draws half its path parameters from them: the other half stays
free-form, for traversal and hostile names. A DELETE of the seeded skill or source
goes to its doomed twin instead, and a PATCH of the admin to the seeded user, so
the rest of the run still finds them and still acts as an admin.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from hypothesis import strategies as st

from tests.fuzz.seed import SEED_ENV

KNOWN: dict[str, str] = json.loads(os.environ.get(SEED_ENV) or "{}")
# (method, path template) -> (its parameter, the seed key of the value to spare, of its twin).
SPARED = {
    ("DELETE", "/api/v1/skills/{namespace}/{name}"): ("name", "name", "doomed_name"),
    ("DELETE", "/api/v1/sources/{source_id}"): ("source_id", "source_id", "doomed_source_id"),
    # The admin the fuzzer acts as must not demote or disable itself half-way through.
    ("PATCH", "/api/v1/auth/users/{user_id}"): ("user_id", "admin_id", "user_id"),
}
SCHEMA_METHODS = ("get", "put", "post", "delete", "patch")


@schemathesis.hook
def before_load_schema(context: Any, raw_schema: dict[str, Any]) -> None:
    """Give every path parameter with a seeded value that value as its example."""
    for item in raw_schema.get("paths", {}).values():
        for method in SCHEMA_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter.get("name") in KNOWN:
                    parameter["example"] = KNOWN[parameter["name"]]


@schemathesis.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """The generated path parameters, or the same with every seeded one put in (a coin toss)."""
    if not path_parameters:
        return st.just(path_parameters)
    aimed = {k: KNOWN.get(k, v) for k, v in path_parameters.items()}
    return st.sampled_from([path_parameters, aimed])


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Send a request that would destroy seeded data or the admin to a twin instead."""
    spared = SPARED.get((case.method.upper(), case.path))
    if spared is None or not case.path_parameters:
        return
    parameter, spared_key, twin_key = spared
    value = case.path_parameters.get(parameter)
    if value is not None and value == KNOWN.get(spared_key) and twin_key in KNOWN:
        case.path_parameters[parameter] = KNOWN[twin_key]
