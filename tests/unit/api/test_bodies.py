"""JSON bodies' text and depth, checked without parsing them."""

from __future__ import annotations

from api.bodies import MAX_DEPTH, problem_of


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert problem_of(b'{"query": "[[[[[[[[{{{{{{{{ \\" [[[["}' * 10) is None


def test_a_body_nested_past_the_limit_is_named() -> None:
    deep = b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)
    assert problem_of(deep) == f"the JSON nests deeper than {MAX_DEPTH} levels"
    assert problem_of(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is None


def test_a_body_that_is_not_utf8_names_the_byte() -> None:
    assert problem_of(b'{"a": "\xc3\x28"}') == (
        "the body is not UTF-8 text (byte 7 is 0xc3)")
