"""Kestra's filters and functions. Expected values are those Kestra's own tests assert
(core/src/test/java/io/kestra/core/runners/pebble/filters/*Test.java and functions/*Test.java),
else Kestra's documentation or the Pebble source it relies on, as noted per case."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from kestra_airflow_sdk.flows import ExpressionError
from kestra_airflow_sdk.flows.expressions import Renderer
from kestra_airflow_sdk.flows.secrets import SecretResolver

# DateFilterTest.NOW = 2013-09-08T16:19:12.123456+01
NOW = datetime(2013, 9, 8, 16, 19, 12, 123456, tzinfo=timezone(timedelta(hours=1)))
VARS: dict[str, Any] = {
    "zoned": NOW,
    "local": NOW.replace(tzinfo=None),
    # JqFilterTest / ToJsonFilterTest / KeysFilterTest "vars.second"
    "vars": {
        "second": {
            "string": "string",
            "int": 1,
            "float": 1.123,
            "list": ["string", 1, 1.123],
            "bool": True,
            "map": {"string": "string", "int": 1, "float": 1.123},
        }
    },
    "nested": [[1, 2], [3], 4],
    "nums": [1, 2, 3, 4, 5, 6, 7, 8, 9],
    "first": {"second": {"third": "{{third}}"}},
    "third": "{{end}}",
    "end": "awesome",
    "recursive": {"second": "{{first_}}", "third": "{{second}}"},
    "yaml_text": "string: string\nint: 123\nbool: true\nfloat: 1.23\nobject:\n  child:\n    key: value\narray:\n  - string\n",
}


def render(text: str, **extra: Any) -> Any:
    return Renderer({**VARS, **extra}, SecretResolver({}, environ={}), task_id="t").render_text(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # DateFilterTest.dateFormat
        ("{{ zoned | date(format='iso', timeZone='Europe/Paris') }}", "2013-09-08T17:19:12.123456+02:00"),
        ('{{ zoned | date(format="iso_sec", timeZone="Europe/Paris") }}', "2013-09-08T17:19:12+02:00"),
        (
            '{{ local | date(format="yyyy-MM-dd HH:mm:ss.SSSSSSXXX", timeZone="Europe/Paris") }}',
            "2013-09-08 16:19:12.123456+02:00",
        ),
        (
            '{{ local | date(format="yyyy-MM-dd HH:mm:ss.SSSSSSXXX", timeZone="UTC") }}',
            "2013-09-08 16:19:12.123456Z",
        ),
        # DateFilterTest.dateStringFormat
        ('{{ "July 24, 2001" | date("yyyy-MM-dd", existingFormat="MMMM dd, yyyy") }}', "2001-07-24"),
        (
            '{{ "2013-09-08T17:19:12+02:00" | date(timeZone="Europe/Paris") }}',
            "2013-09-08T17:19:12.000000+02:00",
        ),
        ('{{ "2013-09-08T17:19:12" | date(timeZone="Europe/Paris") }}', "2013-09-08T17:19:12.000000+02:00"),
        ('{{ "2013-09-08" | date(timeZone="Europe/Paris") }}', "2013-09-08T00:00:00.000000+02:00"),
        # DateFilterTest.timestamp / timestampCompare / dateRfc / instantnano / instantmicro / add
        ('{{ zoned | timestamp(timeZone="Europe/Paris") }}', "1378653552"),
        ("{{ (zoned | timestamp) > (zoned | dateAdd(-1, 'DAYS') | timestamp) }}", "true"),
        (
            "{{ 'Tue, 08 Feb 2022 19:38:26 GMT' | date(existingFormat='rfc_1123_date_time', timeZone=\"Europe/Paris\") }}",
            "2022-02-08T20:38:26.000000+01:00",
        ),
        ('{{ zoned | timestampNano(timeZone="Europe/Paris") }}', "1378653552123456000"),
        ('{{ zoned | timestampMicro(timeZone="Europe/Paris") }}', "1378653552000123456"),
        ('{{ zoned | dateAdd(-1,"DAYS",timeZone="Europe/Paris")}}', "2013-09-07T17:19:12.123456+02:00"),
        # corpus docs/migration_guide_daily_orders.yaml: the day before, as a date
        ("{{ '2024-03-01T06:00:00Z' | dateAdd(-1, 'DAYS') | date('yyyy-MM-dd') }}", "2024-02-29"),
        ("{{ '2024-01-31T00:00:00Z' | dateAdd(1, 'MONTHS', format='yyyy-MM-dd') }}", "2024-02-29"),
        ("{{ 0 | date('yyyy-MM-dd HH:mm', timeZone='UTC') }}", "1970-01-01 00:00"),
        # ISO instants as Kestra writes them (nanoseconds, Z) and short forms
        ("{{ '2024-01-01T10:00:00.123456789Z' | date('HH:mm:ss.SSS') }}", "10:00:00.123"),
        ("{{ '2024-01-01T10:00:00.1+02:00' | date('HH:mm:ss.SSS') }}", "08:00:00.100"),
        ("{{ '2024-01-01T10:00' | date('HH:mm EEEE', timeZone='UTC') }}", "10:00 Monday"),
        # JqFilterTest
        ('{{ [1, 2, 3] | jq(".[0]") | first }}', "1"),
        ('{{ vars | jq(".second.list[0]") }}', '["string"]'),
        ('{{ vars | jq(".second.string") }}', '["string"]'),
        ('{{ vars | jq(".second.float") | first }}', "1.123"),
        ('{{ vars | jq(".second.list") | first }}', '["string",1,1.123]'),
        ('{{ vars | jq(".second.bool") | first }}', "true"),
        ('{{ {"second": [1, 2, 3]} | jq(".second[]") }}', "[1,2,3]"),
        ('{{ \'{"a": {"b": 2}}\' | jq(".a.b") | first }}', "2"),  # a JSON string input is parsed
        ('{{ render(first) | jq(".second.third") }}', '["awesome"]'),
        # ReplaceFilterTest
        ("{{ 'john doe is john doe' | replace({'john': 'jane'}) }}", "jane doe is jane doe"),
        ("{{ 'aa1bb2cc3dd4ee5' | replace({'(\\\\d)': '-$1-'}, regexp=true) }}", "aa-1-bb-2-cc-3-dd-4-ee-5-"),
        # SubstringFilterTest
        ("{{ 'a.b.c' | substringBefore('.') }}", "a"),
        ("{{ 'a.b.c' | substringAfter(separator='.') }}", "b.c"),
        ("{{ 'a.b.c' | substringBeforeLast(separator='.') }}", "a.b"),
        ("{{ 'a.b.c' | substringAfterLast('.') }}", "c"),
        # KeysFilterTest / ValuesFilterTest
        ("{{ vars.second.list | keys }}", "[0,1,2]"),
        ("{{ vars.second.map | keys }}", '["string","int","float"]'),
        ("{{ vars.second.map | values }}", '["string",1,1.123]'),
        # ChunkFilterTest / FlattenFilterTest
        ("{{ nums | chunk(2) }}", "[[1,2],[3,4],[5,6],[7,8],[9]]"),
        ("{{ nested | flatten }} {{ nested | flatten | first }}", "[1,2,3,4] 1"),
        # StartsWithFilterTest / EndsWithFilterTest
        ('{{ "Hello World" | startsWith("Hello") }} {{ "Hello World" | endsWith("World") }}', "true true"),
        # IndentFilterTest / NindentFilterTest
        ("{{ '' | indent(2) }}", ""),
        ('{{ "\\n\\n" | indent(2) }}', "\n  \n  "),
        ("{{ 'string' | indent(2) }}", "string"),
        ("{{ 1 | indent(2) }}", "1"),
        ('{{ "first line\\r\\nsecond line" | indent(2) }}', "first line\r\n  second line"),
        ('{{ "first line\\nsecond line" | indent(2, "\\t") }}', "first line\n\t\tsecond line"),
        ('{{ "first line\\nsecond line" | nindent(2) }}', "\n  first line\n  second line"),
        # ToJsonFilterTest
        ("{{ vars.second.string | toJson }}", '"string"'),
        ("{{ vars.second.int | toJson }}", "1"),
        ("{{ vars.second.list | toJson }}", '["string",1,1.123]'),
        ("{{ vars.second.bool | toJson }}", "true"),
        ('{{ {"empty_object":{}} | toJson }}', '{"empty_object":{}}'),
        ("{{ null | toJson }}", "null"),
        # YamlFilterTest
        ("{{ vars.second.string | yaml }}", "string\n"),
        ("{{ vars.second.int | yaml }}", "1\n"),
        ("{{ vars.second.list | yaml }}", " - string\n - 1\n - 1.123\n"),
        ("{{ vars.second.bool | yaml }}", "true\n"),
        # SlugifyFilterTest
        ('{{ "Test\\t\\t\\ntest*" | slugify }}', "test-test"),
        # UrlDecodeFilter / Pebble's UrlEncoderFilter (URLEncoder: space as +)
        ("{{ 'Kestra rulez !' | urlencode | urldecode }}", "Kestra rulez !"),
        ("{{ 'a b&c=d/é~*' | urlencode }}", "a+b%26c%3Dd%2F%C3%A9%7E*"),
        # NumberFilterTest (value, not Java class) and PebbleVariableRendererTest.numberFormat
        ('{{ "12.3" | number }} {{ "2147483647" | number }} {{ "0x1F" | number }}', "12.3 2147483647 31"),
        ("{{ '42' | number + 1 }}", "43"),
        ('{{ var | numberFormat("#.##") }}', "1.23"),
        # Pebble core filters (pebble/extension/core/*Filter.java)
        ("{{ 'this is a long sentence' | abbreviate(7) }}", "this..."),
        ("{{ -5 | abs }} {{ -2.5 | abs }}", "5 2.5"),
        ("{{ 'hello world' | capitalize }} {{ 'hello world' | title }}", "Hello world Hello World"),
        ("{{ ' x ' | trim }}|{{ 'Ab' | upper }}{{ 'Ab' | lower }}", "x|ABab"),
        ("{{ nothing | default('d') }} {{ '' | default('d') }} {{ 'v' | default('d') }}", "d d v"),
        ("{{ missing | default('d') }} {{ [] | default('e') }}", "d e"),
        ("{{ nums | first }} {{ nums | last }} {{ 'abc' | first }} {{ nums | length }}", "1 9 a 9"),
        (
            "{{ [3, 1, 2] | sort }} {{ [3, 1, 2] | rsort }} {{ [3, 1, 2] | reverse }}",
            "[1,2,3] [3,2,1] [2,1,3]",
        ),
        ("{{ nums | slice(1, 3) }} {{ 'kestra' | slice(0, 3) }}", "[2,3] kes"),
        ("{{ ['a', 'b', 1] | join(', ') }} {{ [1, 2] | join }}", "a, b, 1 12"),
        ("{{ 'a,b,,c,,' | split(',') }} {{ 'a,b,c' | split(',', 2) }}", '["a","b","","c"] ["a","b,c"]'),
        ("{{ {'a': 1} | merge({'b': 2}) }} {{ [1] | merge([2, 3]) }}", '{"a":1,"b":2} [1,2,3]'),
        ("{{ 'kestra' | base64encode }} {{ 'a2VzdHJh' | base64decode }}", "a2VzdHJh kestra"),
        (
            "{{ \"it's\" | escapeChar('single') }} {{ 'say \"hi\"' | escapeChar('double') }}",
            'it\\\'s say \\"hi\\"',
        ),
        ("{{ \"it's\" | escapeChar('shell') }}", "it'\\''s"),
        # JqFilterTest.typed (className of JSON values)
        ('{{ vars.second | jq(".string") | first | className }}', "java.lang.String"),
        ('{{ vars.second | jq(".int") | first | className }}', "java.lang.Integer"),
        ("{{ [1] | className }}", "java.util.ArrayList"),
        # ToIonFilterTest (1.123 is a double here, a widened float there)
        ("{{ vars.second.string | toIon }}", '"string"'),
        ("{{ vars.second.int | toIon }} {{ vars.second.bool | toIon }} {{ null | toIon }}", "1 true null"),
        ("{{ vars.second.list | toIon }}", '["string",1,1.123e0]'),
        ("{{ vars.second.map | toIon }}", '{string:"string",int:1,float:1.123e0}'),
        ('{{ {"empty_object":{}} | toIon }}', "{empty_object:{}}"),
        ("{{ {'my-key': 1e20} | toIon }}", "{'my-key':1.0e20}"),
        # EscapeCharFilterTest
        ("{{ \"L'eau c'est la vie\" | escapeChar('single') }}", "L\\'eau c\\'est la vie"),
        ("{{ '\"Hello\"' | escapeChar('double') }}", '\\"Hello\\"'),
        ("{{ \"L'eau c'est la vie\" | escapeChar('shell') }}", "L'\\''eau c'\\''est la vie"),
        ("{{ '' | escapeChar('single') }}", ""),
        # functions: FromJsonFunctionTest, YamlFunctionTest, PebbleVariableRendererTest.recursive
        ('{{ fromJson(\'{"test1": 1, "test2": 2, "test3": 3}\').test1 }}', "1"),
        (
            '{{ fromJson(\'{"test1": [{"test1": 666}, 2, 3], "test2": 2, "test3": 3}\').test1[0].test1 }}',
            "666",
        ),
        ("{{ fromJson('[1, 2, 3]')[0] }}", "1"),
        ("{{ fromJson('{\"empty_object\":{}}') }}", '{"empty_object":{}}'),
        ("{{ fromJson(null) }}", ""),
        ('{{ json(\'{"test1": 1, "test2": 2, "test3": 3}\').test1 }}', "1"),
        (
            "{{ yaml(yaml_text).string }} {{ yaml(yaml_text).int }} {{ yaml(yaml_text).bool }}",
            "string 123 true",
        ),
        (
            "{{ yaml(yaml_text).float }} {{ yaml(yaml_text).object.child.key }} {{ yaml(yaml_text).array[0] }}",
            "1.23 value string",
        ),
        ("{{ third }}", "{{end}}"),
        ("{{ render(third) }}", "awesome"),
        ("{{ render(first.second.third, recursive=false) }}", "{{end}}"),
        ("{{ render(first) }}", '{"second":{"third":"awesome"}}'),
        ("{{ max(1, 5, 3) }} {{ min(4, -2, 7) }}", "5 -2"),
        ("{{ range(1, 3) }}", "[1,2,3]"),
        ("{{ randomInt(10, 10) }}", "10"),  # RandomIntFunctionTest
    ],
)
def test_filters_and_functions(text: str, expected: str) -> None:
    assert render(text, var=1.232654, nothing=None) == expected


def test_md5_sha_digests() -> None:
    assert render("{{ 'hello' | md5 }}") == hashlib.md5(b"hello").hexdigest()
    assert render("{{ 'hello' | sha1 }}") == hashlib.sha1(b"hello").hexdigest()
    assert render("{{ 'hello' | sha256 }}") == hashlib.sha256(b"hello").hexdigest()
    assert render("{{ 'hello' | sha512 }}") == hashlib.sha512(b"hello").hexdigest()


def test_now_and_random_functions() -> None:
    # DateFilterTest.now: today's date, in the zone asked for
    before = datetime.now(timezone.utc)
    stamp = render("{{ now() }}")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp)
    assert abs(datetime.fromisoformat(stamp.replace("Z", "+00:00")) - before) < timedelta(minutes=1)
    assert (
        render("{{ now(format='iso_local_date', timeZone='UTC') }}")
        == datetime.now(timezone.utc).date().isoformat()
    )
    assert render("{{ now(timeZone='Asia/Tokyo') }}").endswith("+09:00")
    assert 1 <= int(render("{{ randomInt(1, 10) }}")) < 10
    assert -10 <= int(render("{{ randomInt(-10, -1) }}")) < -1
    assert re.fullmatch(r"[0-9a-f-]{36}", render("{{ uuid() }}"))
    assert render("{{ uuid() }}") != render("{{ uuid() }}")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{ 1 | chunk(2) }}", "chunk can only be applied to a list"),  # ChunkFilterTest
        ("{{ fromJson() }}", "fromJson(json) takes the JSON text"),  # FromJsonFunctionTest
        ("{{ fromJson('{not: json}') }}", "invalid JSON"),
        ("{{ randomInt(10, 1) }}", "upper is less than lower"),  # RandomIntFunctionTest
        ("{{ randomInt('1', '10') }}", "two whole numbers"),
        ("{{ randomInt() }}", "two whole numbers"),
        ("{{ render(loop_a) }}", "too many rendering attempts"),  # recursiveRenderingAmountLimit
        ("{{ 'abc' | number }}", "'abc' is not a number"),
        ("{{ 'x' | date('yyyy', timeZone='Mars/Olympus') }}", "unknown time zone 'Mars/Olympus'"),
        ("{{ 'not a date' | date('yyyy') }}", "cannot read 'not a date' as a date"),
        ("{{ '2024-01-01' | dateAdd(1, 'FORTNIGHTS') }}", "unknown unit 'FORTNIGHTS'"),
        ("{{ 'x' | jq('.[') }}", "jq '.[' failed"),
        ("{{ decrypt('KEY', 'x') }}", "decrypt() needs Kestra's storage"),
        ("{{ kv('KEY') }}", "kv() is not available in this part of the flow"),  # bound by the runner
        ("{{ nope() }}", "unknown function nope()"),
        ("{{ 'a' | slice(2, 1) }}", "out of bounds"),
        ("{{ 'a' | date(fmt='x') }}", "the date filter: got an unexpected keyword argument 'fmt'"),
        ("{{ 'x' | split }}", "the split filter: missing 1 required positional argument: 'delimiter'"),
        ("{{ now(zone='UTC') }}", "now(): got an unexpected keyword argument 'zone'"),
    ],
)
def test_filter_and_function_errors(text: str, problem: str) -> None:
    with pytest.raises(ExpressionError) as err:
        render(text, loop_a="{{ loop_b }}", loop_b="{{ loop_a }}")
    assert problem in str(err.value)
