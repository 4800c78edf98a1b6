"""The expression subset: paths, filters, literals, secrets; errors name the expression and task."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from kestra_airflow_sdk.flows import ExpressionError, SecretNotFoundError
from kestra_airflow_sdk.flows.expressions import Renderer, check_template
from kestra_airflow_sdk.flows.secrets import SecretResolver

VARS: dict[str, Any] = {
    "flow": {"id": "airflow", "namespace": "company.team"},
    "task": {"id": "run_dag", "type": "io.kestra.plugin.airflow.dags.TriggerDagRun"},
    "execution": {"id": "1KWLxLeaXEXNDaXWP7YSKA", "startDate": "2026-01-01T00:00:00Z"},
    "inputs": {"n": 3, "flag": True, "nothing": None, "tags": ["a", "b"]},
    "outputs": {
        "run_dag": {"state": "success", "started": datetime(2026, 1, 1, 12, tzinfo=timezone.utc)},
        "my-task": {"x": 1},
    },
    "labels": {"env": "dev"},
    "vars": {"greeting": "hello {{ flow.id }}", "conf": {"a": 1}},
}


def renderer(**secrets: str) -> Renderer:
    return Renderer(VARS, SecretResolver(secrets, environ={}), task_id="run_dag")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ flow.id }}", "airflow"),
        ("{{flow.namespace}}", "company.team"),
        ("{{ task.id }}/{{ task.type }}", "run_dag/io.kestra.plugin.airflow.dags.TriggerDagRun"),
        ("{{ execution.id }}", "1KWLxLeaXEXNDaXWP7YSKA"),
        ("n={{ inputs.n }} flag={{ inputs.flag }} none=[{{ inputs.nothing }}]", "n=3 flag=true none=[]"),
        ("{{ inputs.tags }}", '["a","b"]'),
        ("{{ inputs.tags[1] }}", "b"),
        ("{{ outputs.run_dag.state }}", "success"),
        ("{{ outputs.run_dag.started }}", "2026-01-01T12:00:00Z"),
        ("{{ outputs['my-task'].x }}", "1"),
        ("{{ labels.env | upper }}", "DEV"),
        ("{{ vars.greeting }}", "hello {{ flow.id }}"),  # not rendered again, as in Kestra
        ("{{ vars.conf | json }}", '{"a":1}'),  # Jackson's compact JSON (Kestra's ToJsonFilter)
        ("{{ inputs.missing | default('fallback') }}", "fallback"),
        ("{{ 'lit' | upper }} {{ 42 }}", "LIT 42"),
        ("no expression at all", "no expression at all"),
        ("{{ flow.id | length }}", "7"),
    ],
)
def test_renders(text: str, expected: str) -> None:
    assert renderer().render_text(text) == expected


def test_renders_nested_structures_and_keys() -> None:
    value = {"conf": {"flow": "{{ flow.id }}", "list": ["{{ task.id }}", 1, None], "{{ labels.env }}": 2}}
    expected = {"conf": {"flow": "airflow", "list": ["run_dag", 1, None], "dev": 2}}
    assert renderer().render(value) == expected  # Kestra's VariableRenderer renders map keys too
    with pytest.raises(ExpressionError, match="A map key cannot hold a secret") as err:
        renderer(K="hunter2").render({"{{ secret('K') }}": 1}, "body")
    assert "hunter2" not in str(err.value)


def test_undefined_variable_names_expression_and_task() -> None:
    with pytest.raises(ExpressionError) as err:
        renderer().render({"conf": {"x": "{{ outputs.nope.state }}"}}, "body")
    message = str(err.value)
    assert "{{ outputs.nope.state }}" in message
    assert "task 'run_dag'" in message and "body.conf.x" in message
    assert "outputs.nope is not defined" in message and "run_dag" in message  # lists what is known


@pytest.mark.parametrize(
    "bad", ["{{ }}", "{{ 1 + }}", "{{ flow.id | }}", "{{ __import__('os') }}", "{{ flow.( }}"]
)
def test_syntax_errors_are_expression_errors(bad: str) -> None:
    with pytest.raises(ExpressionError) as err:
        renderer().render_text(bad, "message")
    assert bad in str(err.value) or "Undefined" in str(err.value)


def test_no_python_is_evaluated() -> None:
    with pytest.raises(ExpressionError):
        renderer().render_text("{{ flow.__class__ }}")
    with pytest.raises(ExpressionError):
        renderer().render_text("{{ ''.join }}")


def test_unknown_filter() -> None:
    with pytest.raises(ExpressionError, match="Unknown filter 'shout'"):
        renderer().render_text("{{ flow.id | shout }}")


def test_secret_renders_to_a_secret_value() -> None:
    value = renderer(AIRFLOW_PASSWORD="hunter2").render_text("pw={{ secret('airflow_password') }}")
    assert isinstance(value, SecretStr)
    assert value.get_secret_value() == "pw=hunter2"
    assert "hunter2" not in repr(value) and "hunter2" not in str(value)
    assert isinstance(renderer(T="abc").render_text("{{ secret('T') | upper }}"), SecretStr)


def test_missing_secret_names_secret_and_place() -> None:
    with pytest.raises(SecretNotFoundError) as err:
        renderer().render({"auth": {"password": "{{ secret('AIRFLOW_PASSWORD') }}"}}, "options")
    assert err.value.name == "AIRFLOW_PASSWORD"
    assert "'AIRFLOW_PASSWORD'" in str(err.value)
    assert "task 'run_dag', property options.auth.password" in str(err.value)
    assert "SECRET_AIRFLOW_PASSWORD" in str(err.value)


@given(st.text().filter(lambda s: not any(start in s for start in ("{{", "{%", "{#"))))
def test_text_without_expressions_is_unchanged(text: str) -> None:
    """Text with no expression, tag or comment start is printed as written (as Pebble does)."""
    assert renderer().render_text(text) == text


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30))
def test_any_secret_value_survives_and_stays_hidden(secret: str) -> None:
    value = renderer(S=secret).render_text("{{ secret('S') }}")
    assert isinstance(value, SecretStr) and value.get_secret_value() == secret
    assert repr(value) == "SecretStr('**********')"


# --------------------------------------------------------------------------- Pebble's grammar
# Expected values come from Kestra's own tests (core/src/test/java/io/kestra/core/runners/pebble/
# PebbleVariableRendererTest, expression/NullCoalescingExpressionTest ...) and from Pebble's rules
# (pebble/extension/core/CoreExtension: operator precedences; utils/OperatorUtils: arithmetic).

KESTRA_VARS: dict[str, Any] = {
    # PebbleVariableRendererTest.firstDefined / NullCoalescingExpressionTest
    "block": {"test": {"child": "awesome"}},
    "inner": "test",
    "nothing": None,
    "empty_map": {},
    "list": ["string", 1, 1.123],
    "map": {"string": "string", "int": 1, "float": 1.123},
    "numbers": [3, 1, 2],
    "user": {"name": "Mitchell", "age": 42},
}


def kestra(text: str, **extra: Any) -> Any:
    return Renderer({**KESTRA_VARS, **extra}, SecretResolver({}, environ={}), task_id="t").render_text(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # PebbleVariableRendererTest.out / autoJson
        ("{{ list }}", '["string",1,1.123]'),
        ("{{ list[3] is defined ? bla : null }}", ""),
        ('{{ "apple" ~ "pear" ~ "banana" }}', "applepearbanana"),
        ("{{ map | json }}", '{"string":"string","int":1,"float":1.123}'),
        # PebbleVariableRendererTest.eval / get / firstDefined / firstDefinedEval
        ("{{ block[inner].child }}", "awesome"),
        ("{{ block['test'] }}", '{"child":"awesome"}'),
        ("{{ block['test']['child'] }}", "awesome"),
        ("{{ inner.bla is not defined ? block.test.child : null }}", "awesome"),
        ("{{ block.test.child is defined ? block.test.child : inner.bla }}", "awesome"),
        ("{{ block[missing].child is defined ? null : block[inner].child }}", "awesome"),
        (
            "{{ block[missing].child is not defined ? (block[missing2].child is not defined ? "
            "block[inner].child : null) : null }}",
            "awesome",
        ),
        ("{{ missing is defined ? null : block.test.child }}", "awesome"),
        # NullCoalescingExpressionTest / UndefinedCoalescingExpressionTest
        ("{{ inner.bla ?? block.test.child }}", "awesome"),
        ("{{ block.test.child ?? inner.bla }}", "awesome"),
        ("{{ block[missing].child ?? block[missing2].child ?? block[inner].child }}", "awesome"),
        ("{{ missing ?? block.test.child }}", "awesome"),
        ("{{ empty_map ?? 'UNDEFINED' }}", "{}"),
        ("{{ nothing ?? 'IS NULL' }}", "IS NULL"),
        ("{{ undefined ?? 'IS UNDEFINED' }}", "IS UNDEFINED"),
        ("{{ nothing ??? 'IS NULL' }}", ""),
        ("{{ undefined ??? 'IS UNDEFINED' }}", "IS UNDEFINED"),
        # ?? binds tighter than | (precedence 120 vs 100): the blueprint daily-flow's idiom
        ("{{ trigger.date ?? '2024-01-02T10:30:00Z' | date('HH:mm', timeZone='UTC') }}", "10:30"),
        # Kestra docs, expression operators: comparison, equals, contains, is, logic, math, ternary
        ("{{ user.name equals 'Mitchell' }}", "true"),
        ("{{ user.name == 'Mitchell' and user.age >= 18 }}", "true"),
        ("{{ user.age != 42 or not (user.age < 50) }}", "false"),
        ("{{ 1 == 1.0 }} {{ '1' == 1 }} {{ true == 1 }}", "true false false"),
        ("{{ ['apple', 'pear', 'banana'] contains 'apple' }}", "true"),
        ("{{ {'apple': 'red', 'banana': 'yellow'} contains 'banana' }}", "true"),
        ("{{ ['apple', 'pear', 'banana', 'peach'] contains ['apple', 'peach'] }}", "true"),
        ("{{ 'kestra' contains 'est' }}", "true"),
        ("{{ 2 is even and 3 is odd }}", "true"),
        ("{{ 3 is not even }}", "true"),
        ("{{ nothing is null }} {{ '' is empty }} {{ [] is empty }} {{ map is map }}", "true true true true"),
        ("{{ 2 + 3 * 4 - 10 / 5 }}", "12"),
        ("{{ 5 + 0 }} {{ 5 - 0 }} {{ 0 * 5 }} {{ 1.0 / 0 }} {{ 0.0 / 0 }}", "5 5 0 Infinity NaN"),
        ("{{ (2 + 3) * 4 }}", "20"),
        ("{{ 10 / 4 }} {{ -7 / 2 }} {{ 7 % -3 }} {{ 10 / 4.0 }}", "2 -3 1 2.5"),
        ("{{ '3' + 4 }} {{ 3 + '4' }} {{ '5' * 2 }}", "34 34 10"),
        ("{{ numbers + 4 }} {{ numbers - 1 }}", "[3,1,2,4] [3,2]"),
        ("{{ -user.age }} {{ 1.5 * 2 }} {{ 0.1 + 0.2 }}", "-42 3.0 0.30000000000000004"),
        ("{{ user.age > 40 ? 'senior' : 'junior' }}", "senior"),
        ("{{ user.age > 50 ? 'a' : user.age > 40 ? 'b' : 'c' }}", "b"),
        # ~ binds tighter than | (110 vs 100), so the filter applies to the concatenation
        ("{{ 'a' ~ 'b' | upper }}", "AB"),
        ("{{ 'n=' ~ 1 ~ ' ' ~ true ~ ' ' ~ nothing ~ map }}", "n=1 true {string=string, int=1, float=1.123}"),
        ("{{ 1..3 }} {{ range(0, 10, 5) }}", "[1,2,3] [0,5,10]"),
        ("{{ [1, 'a', [true, null]] }} {{ {'k': {'n': 1.5}} }}", '[1,"a",[true,null]] {"k":{"n":1.5}}'),
        ("{{ TRUE }} {{ FALSE }} {{ NULL }}|{{ none }}", "true false |"),
        # tags: if/elseif/else, for/else with loop variables, set, raw, filter, whitespace control
        ("{% if user.age > 50 %}a{% elseif user.age > 40 %}b{% else %}c{% endif %}", "b"),
        ("{% if nothing %}x{% else %}y{% endif %}", "y"),
        (
            "{% for n in numbers %}{{ loop.index }}/{{ loop.length }}:{{ n }}"
            "{% if loop.first %}F{% endif %}{% if not loop.last %},{% endif %}{% endfor %}",
            "0/3:3F,1/3:1,2/3:2",
        ),
        ("{% for n in numbers %}{{ loop.revindex }}{% endfor %}", "210"),
        ("{% for n in [] %}x{% else %}none{% endfor %}", "none"),
        (
            "[{% for n in nothing %}x{% else %}none{% endfor %}]",
            "[]",
        ),  # Pebble's ForNode: null renders nothing
        ("{% for e in user %}{{ e.key }}={{ e.value }};{% endfor %}", "name=Mitchell;age=42;"),
        ("{% set total = user.age + 1 %}{{ total }}", "43"),
        ("{% for n in numbers %}{{ fromJson('[' ~ n ~ ']')[0] }}{% endfor %}", "312"),  # calls inside loops
        (
            "See some code {% raw %}{{ var }}{% endraw %}",
            "See some code {{ var }}",
        ),  # PebbleVariableRendererTest.raw
        ("See some code {%-  raw%}{{ var }}{%endraw -%}", "See some code {{ var }}"),
        (
            "See some code {% raw %}{{ var }}{% endraw %} and some other code {% raw %}{{ var2 }}{% endraw %}",
            "See some code {{ var }} and some other code {{ var2 }}",
        ),
        ("{% raw %}\n{{ multi }}\n{% endraw %}", "\n{{ multi }}\n"),
        ("{% filter upper %}hello {{ user.name }}{% endfilter %}", "HELLO MITCHELL"),
        ("a  {{- ' b ' -}}  c", "a b c"),
        ("{# a comment #}x", "x"),
        ("line\n", "line\n"),  # Kestra keeps a trailing newline
        ("{% for n in numbers %}\n{{ n }}{% endfor %}", "\n3\n1\n2"),  # newLineTrimming(false)
    ],
)
def test_pebble_grammar(text: str, expected: str) -> None:
    assert kestra(text) == expected


def test_the_ternary_evaluates_only_the_branch_it_takes() -> None:
    # corpus kestra-core/restart_last_failed.yaml: `ko` is undefined, on purpose
    assert kestra("{{ attempts == 1 ? 'ok' : ko }}", attempts=1) == "ok"
    with pytest.raises(ExpressionError, match="ko is not defined"):
        kestra("{{ attempts == 1 ? 'ok' : ko }}", attempts=2)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{ missing ?? missing2 }}", "missing2 is not defined"),  # NullCoalescingExpressionTest
        ("{{ missing is defined ? missing : missing2 }}", "missing2 is not defined"),
        ("{{ outputs.notexists == 2 }}", "outputs is not defined"),  # corpus task-runif.yaml fails
        ("{{ user.nope | upper }}", "user.nope is not defined (known here: age, name)"),
        ("{% if user.nope %}x{% endif %}", "user.nope is not defined"),
        ("{% for x in user.nope %}{% endfor %}", "user.nope is not defined"),
        ("{{ numbers[7] }}", "numbers[7] (index 7 of a list of 3) is not defined"),
        ("{{ 'a' < 2 }}", "compares numbers only"),
        ("{{ 1 / 0 }}", "division by zero"),
        ("{{ 'x' * 2 }}", "'x' is not a number"),
        ("{% if map %}x{% endif %}", "a condition must be a boolean"),
        ("{% for c in 'abc' %}{% endfor %}", "for can only loop over a list or a map"),
    ],
)
def test_rendering_errors_name_the_problem(text: str, problem: str) -> None:
    with pytest.raises(ExpressionError) as err:
        Renderer(KESTRA_VARS, SecretResolver({}, environ={}), task_id="t").render({"msg": text}, "body")
    message = str(err.value)
    assert problem in message
    assert "task 't', property body.msg" in message and text in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{% elif x %}", "unsupported tag 'elif' (Pebble spells it elseif)"),
        ("{% include 'secrets.yaml' %}", "unsupported tag 'include'"),
        ("{% import 'x' as y %}", "unsupported tag 'import'"),
        ("{% extends 'base' %}", "unsupported tag 'extends'"),
        ("{% macro m() %}{% endmacro %}", "unsupported tag 'macro'"),
        ("{{ 1 in numbers }}", "Pebble has no 'in' operator"),
        ("{{ 2 ** 3 }}", "got '**'"),
        ("{{ numbers.pop() }}", "calling a method is not supported"),
        ('{{ "hello #{user.name}" }}', "string interpolation"),
        ("{% if x %}never closed", "endif"),
        ("text{% endif %}", "unexpected {% endif %}: no open block it belongs to"),
        ("{{ user.name | shout }}", "Unknown filter 'shout'"),
        ("{{ 3 is prime }}", "Unknown test 'prime'"),
    ],
)
def test_unsupported_syntax_is_refused_by_name(text: str, problem: str) -> None:
    with pytest.raises(ExpressionError) as err:
        kestra(text)
    assert problem in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        "{{ user.__class__ }}",
        "{{ user.__class__.__mro__ }}",
        "{{ user['__class__'] }}",
        "{{ inner.upper }}",
        "{{ numbers.__len__ }}",
        "{{ loop }}",
        "{{ range.__globals__ }}",
        "{{ now }}",  # a function is not a variable
        "{{ self }}",
        "{{ self | upper }}",
    ],
)
def test_the_sandbox_gives_no_python_attribute(text: str) -> None:
    with pytest.raises(ExpressionError, match=r"not defined|not allowed|reserved"):
        kestra(text)


def test_no_sdk_object_is_reachable() -> None:
    # an SDK object handed in by mistake exposes nothing: attribute access is data lookup only
    resolver = SecretResolver({"S": "hunter2"}, environ={})
    with pytest.raises(ExpressionError, match=r"obj\._given is not defined"):
        Renderer({"obj": resolver}, resolver).render_text("{{ obj._given }}")
    with pytest.raises(ExpressionError, match=r"unknown function f\(\)"):
        Renderer({"f": print}, resolver).render_text("{{ f('x') }}")  # a variable is never called
    with pytest.raises(ExpressionError, match="Cannot parse"):  # the dispatcher's name cannot be spelled
        Renderer({"f": print}, resolver).render_text("{{ 'now' | op:call }}")
    with pytest.raises(ExpressionError, match="not allowed"):
        Renderer({"f": print}, resolver).render_text("{{ f }}")


def test_compiled_templates_are_cached() -> None:
    from kestra_airflow_sdk.flows.pebble.environment import compile_template

    text = "{{ user.name ~ '-cache' }}"
    kestra(text)
    hits = compile_template.cache_info().hits
    assert kestra(text) == "Mitchell-cache"
    assert compile_template.cache_info().hits == hits + 1


def test_runner_functions_are_called_with_the_template_arguments() -> None:
    calls: list[tuple[Any, ...]] = []

    def tasks_with_state(state: str) -> list[dict[str, Any]]:
        calls.append((state,))
        return [{"taskId": "t1", "state": state.upper()}]

    def error_logs() -> list[dict[str, Any]]:
        return [{"taskId": "fail", "message": "boom"}]

    functions = {"tasksWithState": tasks_with_state, "errorLogs": error_logs}
    renderer_ = Renderer(KESTRA_VARS, SecretResolver({}, environ={}), "t", functions=functions)
    # corpus docs/errors_page_global_handler.yaml and kestra-core/errors.yaml
    text = "I'm failing task '{{ tasksWithState('failed')[0]['taskId'] }}'"
    assert renderer_.render_text(text) == "I'm failing task 't1'"
    assert calls == [("failed",)]
    logs = "{%- for log in errorLogs() -%}- task: {{ log.taskId }}, message: {{ log.message }}{%- endfor -%}"
    assert renderer_.render_text(logs) == "- task: fail, message: boom"
    with pytest.raises(ExpressionError, match=r"errorLogs\(\) is not available in this part of the flow"):
        renderer().render_text("{{ errorLogs() }}")


def test_a_secret_anywhere_in_a_template_makes_the_result_secret() -> None:
    resolver = SecretResolver({"TOKEN": "hunter2"}, environ={})
    variables = {"inputs": {"pw": SecretStr("s3cret"), "user": "bob"}}
    r = Renderer(variables, resolver, "t")
    for text, clear in [
        ("{% if secret('TOKEN') == 'hunter2' %}yes{% endif %}", "yes"),
        ("{{ secret('TOKEN') | length }}", "7"),
        ("{{ inputs.pw ~ '!' }}", "s3cret!"),
        ("{{ inputs }}", '{"pw":"s3cret","user":"bob"}'),
    ]:
        value = r.render_text(text)
        assert isinstance(value, SecretStr), text
        assert value.get_secret_value() == clear
    assert r.render_text("{{ inputs.user }}") == "bob"


def test_an_expression_error_never_shows_a_secret_value() -> None:
    r = Renderer({}, SecretResolver({"TOKEN": "hunter2"}, environ={}), "t")
    with pytest.raises(ExpressionError) as err:
        r.render_text("{{ secret('TOKEN') * 2 }}")
    assert "hunter2" not in str(err.value)


def test_a_syntax_error_names_the_field_and_the_task() -> None:
    with pytest.raises(ExpressionError) as err:
        renderer().render({"conf": {"when": "{% if flow.id %}x{% elif %}y{% endif %}"}}, "body")
    assert err.value.where == "task 'run_dag', property body.conf.when"
    assert "Cannot parse the expression {% if flow.id %}" in str(err.value)
    assert "unsupported tag 'elif' (Pebble spells it elseif)" in str(err.value)


def test_render_of_a_value_holding_a_secret_is_secret() -> None:
    variables = {"vars": {"auth": "Bearer {{ secret('TOKEN') }}"}}
    r = Renderer(variables, SecretResolver({"TOKEN": "hunter2"}, environ={}), "t")
    assert r.render_text("{{ vars.auth }}") == "Bearer {{ secret('TOKEN') }}"  # not rendered again
    value = r.render_text("{{ render(vars.auth) }}")
    assert isinstance(value, SecretStr) and value.get_secret_value() == "Bearer hunter2"


CORPUS_VARS: dict[str, Any] = {
    "taskrun": {"attemptsCount": 3, "value": "value 1", "startDate": "2026-01-01T08:30:00Z"},
    "parent": {"taskrun": {"value": "value 1"}},
    "trigger": {},
    "execution": {"startDate": "2026-01-02T00:00:00Z"},
    "inputs": {"release_name": "Latest"},
    "vars": {"first": "1", "second": "{{vars.first}} > 2", "third": "{{vars.second}} > 3"},
    "outputs": {
        "output": {"values": {"taskrun_data": 1}},
        "get_nr_of_namespaces": {"body": '{"total": 3}'},
        "get_all_namespaces": {"body": '{"results": [{"id": "a"}, {"id": "b"}]}'},
        "retrieve_values": {"ns1": [{"key": '{"key": "k1"}', "value": {"body": '{"x": 1}'}}]},
    },
}


@pytest.mark.parametrize(
    ("source", "text", "expected"),
    [
        ("kestra-core/retry-success.yaml", "{{ taskrun.attemptsCount == 3 ? 'ok' : ko}}", "ok"),
        ("kestra-core/each-sequential.yaml", "{{ parent.taskrun.value == 'value 1' ? 'ok' : ko }}", "ok"),
        ("kestra-core/task-runif.yaml", "{{ outputs.output['values']['taskrun_data'] == 1 }}", "true"),
        ("kestra-core/variables.yaml", "{{render(vars.third)}}", "1 > 2 > 3"),  # core/flow/VariablesTest
        ("blueprints/get-all-namespaces.yaml", "{{ json(outputs.get_nr_of_namespaces['body']).total }}", "3"),
        (
            "blueprints/get-all-namespaces.yaml",
            '[{% for elem in json(outputs.get_all_namespaces["body"]).results %}"{{ elem.id }}"'
            "{% if not loop.last %},{% endif %}{% endfor %}]",
            '["a","b"]',
        ),
        (
            "blueprints/git-flows-files-kv-sync-to-gitlab.yaml",
            '{% for elem in outputs.retrieve_values %}{"namespace":"{{ elem.key }}","keys":[{% for ele in '
            '(elem.value) %}{"key":"{{ json(ele.key).key }}","body":{{ ele.value.body }}}{% if not loop.last %},'
            "{% endif %}{% endfor %}]}{% endfor %}",
            '{"namespace":"ns1","keys":[{"key":"k1","body":{"x": 1}}]}',
        ),
        (
            "blueprints/git-flows-files-kv-sync-to-gitlab.yaml",
            "{{ inputs.release_name equals 'Latest' }}",
            "true",
        ),
        (
            "docs/migration_guide_daily_orders.yaml",
            "{{ (trigger.date ?? execution.startDate) | dateAdd(-1, 'DAYS') | date('yyyy-MM-dd') }}",
            "2026-01-01",
        ),
        (
            "blueprints/daily-flow.yaml",
            'It\'s {{ trigger.date ?? taskrun.startDate | date("HH:mm") }}',
            "It's 08:30",
        ),
    ],
)
def test_corpus_expressions(source: str, text: str, expected: str) -> None:
    """Expressions of the Kestra corpus (file named), rendered against variables of their flow."""
    assert Renderer(CORPUS_VARS, SecretResolver({}, environ={}), "t").render_text(text) == expected


#: pieces of templates, valid and not, joined at random
_PIECE_TEXT = """{{ }} {% %} {# #} a a.b [0] | upper default ('x') ?? ? : ~ + - / % == < and not is defined
null if elseif else endif for in endfor set = raw endraw 'q' 1 0 2.5 ( ) [ ] { } , now() json(s) loop.index
contains .. n s -}} {{-"""
_PIECES = st.sampled_from([*_PIECE_TEXT.split(), "\n"])


@given(st.lists(_PIECES, max_size=14).map(" ".join))
def test_any_text_renders_or_raises_an_expression_error(text: str) -> None:
    variables = {"a": {"b": [1, 2, "x"]}, "s": "str", "n": None}
    try:
        result = Renderer(variables, SecretResolver({}, environ={}), "t").render_text(text)
    except ExpressionError as exc:
        assert exc.where == "task 't'"
    else:
        assert isinstance(result, str)
    assert all(isinstance(problem, str) for problem in check_template(text))
