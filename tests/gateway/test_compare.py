from __future__ import annotations

from gateway.compare import compare_bodies, json_differences
from gateway.manifest import CompareRules


def test_differences_name_the_json_path_and_both_values() -> None:
    legacy = {"news": [{"id": 1, "title": "a"}], "count": 1}
    modern = {"news": [{"id": 1, "title": "b"}], "count": 1, "extra": True}
    described = [d.describe() for d in json_differences(legacy, modern)]
    assert described == [
        "news.0.title: legacy 'a' != async 'b'",
        "extra: legacy (absent) != async True",
    ]


def test_ignore_rules_use_star_for_one_segment() -> None:
    legacy = {"items": [{"at": "1"}, {"at": "2"}], "n": 1}
    modern = {"items": [{"at": "3"}, {"at": "4"}], "n": 2}
    rules = CompareRules(ignore=("items.*.at",))
    assert [d.path for d in compare_bodies(legacy, modern, rules)] == ["n"]


def test_shape_only_compares_keys_and_types_not_values() -> None:
    rules = CompareRules(shape_only=True)
    assert compare_bodies({"uptime": 1.5, "pid": 10}, {"uptime": 9.0, "pid": 11}, rules) == []
    assert compare_bodies({"uptime": 1.5}, {"uptime": "x"}, rules)


def test_int_and_bool_are_not_equal() -> None:
    assert json_differences({"ok": True}, {"ok": 1})
