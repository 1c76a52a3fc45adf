"""Tests for blastradius.envs.schemas: tool schemas, argument binding, action parsing."""

from __future__ import annotations

import gc
import inspect
import json
import random
import string
import typing
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypedDict

import jsonschema
import numpy as np
import pytest

from blastradius.envs.schemas import (
    ArgumentError,
    bind_arguments,
    parse_tool_call,
    tool_schema,
)

if TYPE_CHECKING:  # never imported at run time: tools must not need it resolved
    from fractions import Fraction


# ---------------------------------------------------------------- sample tools


class Impact(TypedDict):
    services: Annotated[list[str], "Services that were affected"]
    minutes: Annotated[float, "Minutes of customer impact"]


class _ReportRequired(TypedDict):
    outcome: Annotated[Literal["resolved", "mitigated", "escalated"], "How the incident ended"]
    impact: Impact


class Report(_ReportRequired, total=False):
    summary: Annotated[str, "One paragraph for the on-call log"]
    followups: list[str]


def scale_service(
    service: str,
    replicas: int,
    minutes: float = 5.0,
    dry_run: bool = False,
    zone: Literal["us-east", "eu-west"] | None = None,
    tags: list[str] | None = None,
    labels: dict[str, str] | None = None,
    priority: Literal[1, 2, 3] = 2,
    _clock: Fraction | None = None,
) -> Fraction:
    """Change how many replicas of a service run.

    The change takes effect after a short
    delay.

    Args:
        service: Name of the service to scale.
        replicas (int): How many replicas to run; must be at
            least zero.
        minutes: How long to wait before scaling.
        dry_run: Only report what would change.
        zone: Restrict the change to one zone.
        tags: Free-form tags recorded with the change.
        labels: Labels to attach, as key/value pairs.
        priority: 1 is the most urgent.

    Returns:
        The new replica count.
    """
    raise NotImplementedError


def file_report(
    report: Report, severity: Literal["low", "high"], notes: list[str] | None = None
) -> str:
    """File the incident report.

    Args:
        report: The report.
        severity: How bad it was.
        notes: Extra notes.
    """
    return report["outcome"]


def list_services() -> list[str]:
    """List every service in the account."""
    return []


def drain(world: Fraction, /, node: str, *, grace: int = 30) -> str:
    """Drain a node, the way envs/tools write tools: the world comes first, positionally.

    Args:
        node: Node id.
        grace: Seconds to wait.
    """
    return f"{world} {node} {grace}"


class Ops:
    """Tools as methods, the way an environment holds them."""

    def restart(self, service: str, _force: bool = False) -> str:
        """Restart a service.

        Args:
            service: Name of the service.
            _force: Hidden from agents.
        """
        return f"restarted {service}"


TOOLS: list[Callable[..., Any]] = [scale_service, file_report, list_services, drain, Ops.restart]

GOOD_REPORT = {"outcome": "resolved", "impact": {"services": ["db"], "minutes": 3}}


def error_of(func: Callable[..., Any], arguments: Any) -> str:
    with pytest.raises(ArgumentError) as info:
        bind_arguments(func, arguments)
    return str(info.value)


# ------------------------------------------------------------------- schemas


def test_exact_schema() -> None:
    assert tool_schema(scale_service) == {
        "type": "function",
        "function": {
            "name": "scale_service",
            "description": "Change how many replicas of a service run.\n\n"
                           "The change takes effect after a short delay.",
            "parameters": {
                "type": "object",
                "properties": {
                    "service": {"type": "string", "description": "Name of the service to scale."},
                    "replicas": {"type": "integer",
                                 "description": "How many replicas to run; must be at least zero."},
                    "minutes": {"type": "number", "default": 5.0,
                                "description": "How long to wait before scaling."},
                    "dry_run": {"type": "boolean", "default": False,
                                "description": "Only report what would change."},
                    "zone": {"type": "string", "enum": ["us-east", "eu-west"],
                             "description": "Restrict the change to one zone."},
                    "tags": {"type": "array", "items": {"type": "string"},
                             "description": "Free-form tags recorded with the change."},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"},
                               "description": "Labels to attach, as key/value pairs."},
                    "priority": {"type": "integer", "enum": [1, 2, 3], "default": 2,
                                 "description": "1 is the most urgent."},
                },
                "required": ["service", "replicas"],
                "additionalProperties": False,
            },
        },
    }


def test_typeddict_schema() -> None:
    report = tool_schema(file_report)["function"]["parameters"]["properties"]["report"]
    assert report == {
        "type": "object",
        "description": "The report.",
        "properties": {
            "outcome": {"type": "string", "enum": ["resolved", "mitigated", "escalated"],
                        "description": "How the incident ended"},
            "impact": {
                "type": "object",
                "properties": {
                    "services": {"type": "array", "items": {"type": "string"},
                                 "description": "Services that were affected"},
                    "minutes": {"type": "number", "description": "Minutes of customer impact"},
                },
                "required": ["services", "minutes"],
                "additionalProperties": False,
            },
            "summary": {"type": "string", "description": "One paragraph for the on-call log"},
            "followups": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["outcome", "impact"],
        "additionalProperties": False,
    }


def test_methods_and_no_argument_tools() -> None:
    restart = tool_schema(Ops().restart)["function"]
    assert restart["name"] == "restart"
    assert restart["parameters"]["properties"] == {
        "service": {"type": "string", "description": "Name of the service."}}
    assert tool_schema(list_services)["function"] == {
        "name": "list_services", "description": "List every service in the account.",
        "parameters": {"type": "object", "properties": {}, "required": [],
                       "additionalProperties": False}}


def test_positional_only_parameters_are_hidden() -> None:
    parameters = tool_schema(drain)["function"]["parameters"]
    assert parameters["properties"] == {
        "node": {"type": "string", "description": "Node id."},
        "grace": {"type": "integer", "default": 30, "description": "Seconds to wait."}}
    assert parameters["required"] == ["node"]
    kwargs = bind_arguments(drain, {"node": "n1"})
    assert drain("w", **kwargs) == "w n1 30"
    assert error_of(drain, {"node": "n1", "world": 1}) == (
        "unknown argument 'world' for tool 'drain'; accepted arguments: 'node', 'grace'")


@pytest.mark.parametrize("tool", TOOLS, ids=lambda tool: tool.__name__)
def test_parameters_are_valid_json_schema(tool: Callable[..., Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(tool_schema(tool)["function"]["parameters"])


def test_schema_is_a_copy() -> None:
    tool_schema(scale_service)["function"]["parameters"]["properties"].clear()
    assert "service" in tool_schema(scale_service)["function"]["parameters"]["properties"]


# ------------------------------------------------------- developer mistakes


def no_annotation(x) -> None:  # type: ignore[no-untyped-def]
    """Doc.

    Args:
        x: X.
    """


def undocumented(x: int, y: int) -> None:
    """Doc.

    Args:
        x: X.
    """


def extra_doc(x: int) -> None:
    """Doc.

    Args:
        x: X.
        z: Z.
    """


def unresolved(x: Fraction) -> None:
    """Doc.

    Args:
        x: X.
    """


def no_docstring(x: int) -> None:
    pass


def star_args(*x: int) -> None:
    """Doc.

    Args:
        x: X.
    """


def mixed_literal(x: Literal["a", 1]) -> None:
    """Doc.

    Args:
        x: X.
    """


def bad_typeddict_key(x: BadKey) -> None:
    """Doc.

    Args:
        x: X.
    """


class BadKey(TypedDict):
    pair: tuple[int, int]


def make_tool(annotation: str) -> Callable[..., Any]:
    def tool(x: int) -> None:
        """Doc.

        Args:
            x: X.
        """
    tool.__annotations__ = {"x": annotation}
    return tool


@pytest.mark.parametrize(("func", "message"), [
    (no_annotation, "tool 'no_annotation': parameter 'x' has no type annotation"),
    (undocumented,
     "tool 'undocumented': parameter 'y' has no entry in the docstring's Args section"),
    (extra_doc, "tool 'extra_doc': Args entry 'z' names no parameter"),
    (unresolved, "tool 'unresolved': parameter 'x': cannot resolve 'Fraction': "
                 "name 'Fraction' is not defined"),
    (no_docstring, "tool 'no_docstring' has no docstring summary to describe it to the agent"),
    (star_args, "tool 'star_args': parameter 'x' must be passable by keyword "
                "(no *args or **kwargs)"),
    (mixed_literal, "tool 'mixed_literal': parameter 'x': Literal values must be all str "
                    "or all int, got typing.Literal['a', 1]"),
    (bad_typeddict_key, "tool 'bad_typeddict_key': parameter 'x', key BadKey.pair has "
                        "unsupported type tuple[int, int]; supported: str, int, float, bool, "
                        "list[X], dict[str, X], Literal[...], X | None, X | Y, TypedDict"),
], ids=lambda v: getattr(v, "__name__", "message"))
def test_developer_mistakes(func: Callable[..., Any], message: str) -> None:
    for use in (tool_schema, lambda f: bind_arguments(f, {})):
        with pytest.raises(TypeError) as info:
            use(func)
        assert str(info.value) == message


@pytest.mark.parametrize("annotation", ["tuple[int, int]", "set[str]", "dict[int, str]",
                                        "int | set[str]", "Any", "list", "object"])
def test_unsupported_types(annotation: str) -> None:
    with pytest.raises(TypeError, match=r"^tool 'tool': parameter 'x' has unsupported type "):
        tool_schema(make_tool(annotation))


# ------------------------------------------------------------ binding


def test_bind_returns_kwargs_without_defaults() -> None:
    assert bind_arguments(scale_service, {"service": "api", "replicas": 3}) == {
        "service": "api", "replicas": 3}
    kwargs = bind_arguments(file_report, {"report": GOOD_REPORT, "severity": "low"})
    assert file_report(**kwargs) == "resolved"
    assert bind_arguments(Ops().restart, {"service": "db"}) == {"service": "db"}
    assert bind_arguments(list_services, {}) == {}


def test_bind_converts_and_accepts() -> None:
    kwargs = bind_arguments(scale_service, {
        "service": "api", "replicas": 0, "minutes": 2, "dry_run": True, "zone": None,
        "tags": ["a", "b"], "labels": {"team": "sre"}, "priority": 3})
    assert kwargs["minutes"] == 2.0 and type(kwargs["minutes"]) is float
    assert kwargs["zone"] is None  # null for X | None means "unset", as Python allows
    assert kwargs["tags"] == ["a", "b"] and kwargs["labels"] == {"team": "sre"}
    nested = bind_arguments(file_report, {"report": GOOD_REPORT, "severity": "high"})
    assert nested["report"]["impact"]["minutes"] == 3.0
    assert bind_arguments(scale_service, {"service": "x" * 2000, "replicas": 1})
    assert bind_arguments(scale_service, {"service": "a", "replicas": 1, "tags": ["t"] * 200})


@pytest.mark.parametrize(("arguments", "message"), [
    ({"service": "api", "replicas": 1, "minuts": 5},
     "unknown argument 'minuts' (did you mean 'minutes'?) for tool 'scale_service'; "
     "accepted arguments: 'service', 'replicas', 'minutes', 'dry_run', 'zone', 'tags', "
     "'labels', 'priority'"),
    ({"service": "api", "replicas": 1, "colour": "red", "dryrun": True},
     "unknown arguments 'colour', 'dryrun' (did you mean 'dry_run'?) for tool "
     "'scale_service'; accepted arguments: 'service', 'replicas', 'minutes', 'dry_run', "
     "'zone', 'tags', 'labels', 'priority'"),
    ({"replicas": 1}, "missing required argument 'service' for tool 'scale_service'"),
    ({}, "missing required arguments 'service', 'replicas' for tool 'scale_service'"),
    ({"service": "api", "replicas": "5"}, "argument 'replicas' must be an integer, got string '5'"),
    ({"service": "api", "replicas": 5.0}, "argument 'replicas' must be an integer, got number 5.0"),
    ({"service": "api", "replicas": True},
     "argument 'replicas' must be an integer, got boolean true"),
    ({"service": "api", "replicas": 1, "minutes": False},
     "argument 'minutes' must be a number, got boolean false"),
    ({"service": "api", "replicas": 1, "minutes": float("nan")},
     "argument 'minutes' must be a finite number, got number nan"),
    ({"service": None, "replicas": 1}, "argument 'service' must be a string, got null"),
    ({"service": "api", "replicas": 1, "dry_run": "yes"},
     "argument 'dry_run' must be a boolean, got string 'yes'"),
    ({"service": "api", "replicas": 1, "zone": "mars"},
     "argument 'zone' must be one of 'us-east', 'eu-west', got string 'mars'"),
    ({"service": "api", "replicas": 1, "priority": 4},
     "argument 'priority' must be one of 1, 2, 3, got integer 4"),
    ({"service": "api", "replicas": 1, "priority": True},
     "argument 'priority' must be one of 1, 2, 3, got boolean true"),
    ({"service": "api", "replicas": 1, "tags": "a,b"},
     "argument 'tags' must be an array, got string 'a,b'"),
    ({"service": "api", "replicas": 1, "tags": ["a", 7]},
     "argument 'tags[1]' must be a string, got integer 7"),
    ({"service": "api", "replicas": 1, "labels": {"team": 1}},
     "argument 'labels[\"team\"]' must be a string, got integer 1"),
    ({"service": "x" * 2001, "replicas": 1},
     "argument 'service' is too long: 2001 characters, the limit is 2000"),
    ({"service": "api", "replicas": 1, "tags": ["t"] * 201},
     "argument 'tags' is too long: 201 items, the limit is 200"),
    ({"service": "api", "replicas": [1] * 1000},
     "argument 'replicas' must be an integer, got array"),
    ({"service": "y" * 5000 + "'", "replicas": {}},
     "argument 'service' is too long: 5001 characters, the limit is 2000"),
    ({"service": "api", "replicas": 1, "x" * 500: 1},
     f"unknown argument '{'x' * 47}...' for tool 'scale_service'; accepted arguments: "
     "'service', 'replicas', 'minutes', 'dry_run', 'zone', 'tags', 'labels', 'priority'"),
], ids=lambda v: "case" if isinstance(v, dict) else None)
def test_argument_errors(arguments: dict[str, Any], message: str) -> None:
    assert error_of(scale_service, arguments) == message


@pytest.mark.parametrize(("report", "message"), [
    ({**GOOD_REPORT, "outcom": "x"},
     "unknown key 'outcom' in argument 'report'; accepted keys: 'outcome', 'impact', "
     "'summary', 'followups'"),
    ({"outcom": "resolved", "impact": GOOD_REPORT["impact"]},
     "unknown key 'outcom' (did you mean 'outcome'?) in argument 'report'; accepted keys: "
     "'outcome', 'impact', 'summary', 'followups'"),
    ({"impact": GOOD_REPORT["impact"]}, "missing required key 'outcome' in argument 'report'"),
    ({**GOOD_REPORT, "outcome": "fixed"},
     "argument 'report.outcome' must be one of 'resolved', 'mitigated', 'escalated', "
     "got string 'fixed'"),
    ({**GOOD_REPORT, "impact": {"services": ["db"], "minutes": "3"}},
     "argument 'report.impact.minutes' must be a number, got string '3'"),
    ({**GOOD_REPORT, "impact": {"services": ["db"]}},
     "missing required key 'minutes' in argument 'report.impact'"),
    ({**GOOD_REPORT, "followups": ["ok", None]},
     "argument 'report.followups[1]' must be a string, got null"),
    ("resolved", "argument 'report' must be an object, got string 'resolved'"),
], ids=lambda v: "case" if not isinstance(v, str) or len(v) < 20 else None)
def test_nested_errors(report: Any, message: str) -> None:
    assert error_of(file_report, {"report": report, "severity": "low"}) == message


@pytest.mark.parametrize(("arguments", "message"), [
    ([], "arguments for tool 'list_services' must be an object, got array"),
    ('{"a": 1}', "arguments for tool 'list_services' must be an object, got string '{\"a\": 1}'"),
    ({"verbose": True}, "unknown argument 'verbose' for tool 'list_services'; "
                        "accepted arguments: none"),
    ({1: 2}, "unknown argument integer 1 for tool 'list_services'; accepted arguments: none"),
])
def test_arguments_shape_errors(arguments: Any, message: str) -> None:
    assert error_of(list_services, arguments) == message


def test_errors_agree_with_json_schema() -> None:
    """What the schema forbids, binding refuses, and what it allows, binding accepts."""
    validator = jsonschema.Draft202012Validator(
        tool_schema(file_report)["function"]["parameters"])
    good = [{"report": GOOD_REPORT, "severity": "low"},
            {"report": {**GOOD_REPORT, "summary": "s", "followups": []}, "severity": "high",
             "notes": ["n"]}]
    bad = [{"report": GOOD_REPORT}, {"report": GOOD_REPORT, "severity": "mid"},
           {"report": {**GOOD_REPORT, "extra": 1}, "severity": "low"},
           {"report": GOOD_REPORT, "severity": "low", "notes": [1]}]
    for arguments in good:
        validator.validate(arguments)
        bind_arguments(file_report, arguments)
    for arguments in bad:
        assert not validator.is_valid(arguments)
        with pytest.raises(ArgumentError):
            bind_arguments(file_report, arguments)


def test_bind_does_no_introspection_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    bind_arguments(scale_service, {"service": "a", "replicas": 1})

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("introspection on the hot path")
    monkeypatch.setattr(typing, "get_type_hints", forbidden)
    monkeypatch.setattr(inspect, "getdoc", forbidden)
    monkeypatch.setattr(inspect, "signature", forbidden)
    assert bind_arguments(scale_service, {"service": "a", "replicas": 2})["replicas"] == 2


def test_bound_methods_do_not_keep_instances_alive() -> None:
    ops = Ops()
    ref = weakref.ref(ops)
    bind_arguments(ops.restart, {"service": "db"})
    tool_schema(ops.restart)
    del ops
    gc.collect()
    assert ref() is None


# ------------------------------------------------------------ parse_tool_call


@pytest.mark.parametrize("action", [
    '{"name": "restart", "arguments": {"service": "db"}}',
    '{"name": "restart", "arguments": "{\\"service\\": \\"db\\"}"}',
    {"name": "restart", "arguments": {"service": "db"}},
    {"name": "restart", "arguments": '{"service": "db"}'},
    {"type": "function", "function": {"name": "restart", "arguments": '{"service": "db"}'}},
    {"id": "call_1", "type": "function",
     "function": {"name": "restart", "arguments": '{"service": "db"}'}},
    '{"type": "function", "function": {"name": "restart", "arguments": {"service": "db"}}}',
    b'{"name": "restart", "arguments": {"service": "db"}}',
])
def test_parse_accepted_shapes(action: Any) -> None:
    assert parse_tool_call(action) == ("restart", {"service": "db"})


@pytest.mark.parametrize("action", [
    {"name": "list_services"}, {"name": "list_services", "arguments": None},
    {"name": "list_services", "arguments": ""}, '{"name": "list_services", "arguments": " "}',
    {"type": "function", "function": {"name": "list_services"}},
])
def test_parse_without_arguments(action: Any) -> None:
    assert parse_tool_call(action) == ("list_services", {})


HINT = 'send {"name": <tool>, "arguments": {...}}'


@pytest.mark.parametrize(("action", "message"), [
    ("restart db", f"action is not valid JSON: Expecting value: line 1 column 1 (char 0); {HINT}"),
    ('{"name": "restart",}', "action is not valid JSON: Expecting property name enclosed in "
                             f"double quotes: line 1 column 20 (char 19); {HINT}"),
    ("[" * 100_000, f"action is not valid JSON: nested too deeply; {HINT}"),
    ("[1]", f"action must be a JSON object, got array; {HINT}"),
    (None, f"action must be a JSON object, got null; {HINT}"),
    (np.zeros(3), f"action must be a JSON object, got ndarray; {HINT}"),
    ({"arguments": {}}, f'action has no "name"; {HINT}'),
    ({"name": 3}, 'action "name" must be a non-empty string, got integer 3'),
    ({"name": ""}, "action \"name\" must be a non-empty string, got string ''"),
    ({"name": "restart", "service": "db"}, "action has unexpected key 'service'; tool arguments "
                                           f'go inside "arguments": {HINT}'),
    ({"function": "restart"}, 'action "function" must be an object, got string \'restart\''),
    ({"name": "restart", "arguments": ["db"]}, '"arguments" must be a JSON object, got array'),
    ({"name": "restart", "arguments": "db"}, "arguments is not valid JSON: Expecting value: "
                                             f"line 1 column 1 (char 0); {HINT}"),
    ({"name": "restart", "arguments": "[]"}, '"arguments" must be a JSON object, got array'),
])
def test_parse_errors(action: Any, message: str) -> None:
    with pytest.raises(ArgumentError) as info:
        parse_tool_call(action)
    assert str(info.value) == message


def _mutations(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        position = rng.randrange(len(chars) + 1)
        if rng.random() < 0.5 and position < len(chars):
            del chars[position]
        else:
            chars.insert(position, rng.choice(string.printable))
    return "".join(chars)


def test_parse_and_bind_fuzz() -> None:
    """Nothing an agent sends may raise anything but ArgumentError."""
    rng = random.Random(20240601)
    seeds = [json.dumps({"name": "scale_service", "arguments": {
        "service": "api", "replicas": 2, "minutes": 1.5, "tags": ["a"], "labels": {"k": "v"},
        "zone": "eu-west", "priority": 1}}),
        json.dumps({"name": "file_report", "arguments": json.dumps(
            {"report": GOOD_REPORT, "severity": "low"})})]
    actions: list[Any] = [
        "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 80)))
        for _ in range(3000)]
    actions += [_mutations(rng, rng.choice(seeds)) for _ in range(3000)]
    actions += [None, 1, 1.5, True, [], (), set(), object(), b"\xff\xfe", bytearray(b"{}"),
                np.array([1, 2]), np.str_('{"name": "x"}'), "1" * 5000, "a" * 1_000_000,
                '{"name": "x", "arguments": "' + "[" * 50_000 + '"}', "\ud800", "NaN"]
    tools = {"scale_service": scale_service, "file_report": file_report}
    parsed = 0
    for action in actions:
        try:
            name, arguments = parse_tool_call(action)
            parsed += 1
            bind_arguments(tools.get(name, list_services), arguments)
        except ArgumentError:
            pass
    assert parsed > 100  # the mutations reach bind_arguments, not only the JSON parser


def test_a_union_takes_either_alternative_and_names_both_when_neither_fits() -> None:
    """``str | list[str]``: a report names one resource or several."""
    tool = make_tool("str | list[str]")
    assert tool_schema(tool)["function"]["parameters"]["properties"]["x"]["anyOf"] == [
        {"type": "string"}, {"type": "array", "items": {"type": "string"}}]
    assert bind_arguments(tool, {"x": "db-1"}) == {"x": "db-1"}
    assert bind_arguments(tool, {"x": ["db-1", "db-2"]}) == {"x": ["db-1", "db-2"]}
    with pytest.raises(ArgumentError, match="^argument 'x' must be a string or an array, got integer 3$"):
        bind_arguments(tool, {"x": 3})
