"""Scrubbing hidden test source from what a student reads: every form a line can take, hints kept."""

from __future__ import annotations

import json

from medgrade.intake.scrub import GRAM, MASK, MAX_MESSAGE, failure_message, hidden_of, scrub

SOURCE = '''x = public_part()
### BEGIN HIDDEN TESTS
# calibrated: the reference scored 0.874-0.946 over 20 seeds
for n_hidden, n_classes in [(16, 6), (4, 3)]:
    checks.check_close(model(n_hidden), expected_output_for(n_classes), name="MLP(n_hidden=16)",
                       hint="use n_hidden for the width of the hidden layer")
net.eval()
)
### END HIDDEN TESTS'''
HIDDEN = hidden_of(SOURCE)


def test_hidden_lines_are_the_region_only_and_short_lines_are_left_out() -> None:
    assert "x = public_part()" not in HIDDEN.lines and ")" not in HIDDEN.lines
    assert "net.eval()" in HIDDEN.lines and "for n_hidden, n_classes in [(16, 6), (4, 3)]:" in HIDDEN.lines
    assert hidden_of("assert True") == hidden_of("") and not hidden_of("assert True")


def test_each_form_of_a_hidden_line_is_scrubbed() -> None:
    line = "for n_hidden, n_classes in [(16, 6), (4, 3)]:"
    for text in (line, f"    {line}  ", line.replace(" ", "  "), repr(SOURCE), json.dumps(SOURCE), SOURCE):
        out = scrub(text, HIDDEN)
        assert MASK in out and "n_classes in [(16, 6)" not in out, out
    assert scrub(SOURCE, HIDDEN).splitlines()[2:4] == [MASK, MASK]


def test_a_run_copied_from_the_hidden_code_is_scrubbed_but_literals_meant_for_students_stay() -> None:
    partial = "...ks.check_close(model(n_hidden), expected_out..."  # a window across the code, cut anywhere
    assert scrub(partial, HIDDEN) == f"...{MASK}..."
    hint = ("check_close(MLP(n_hidden=16)): expected ...; observed .... "
            "Hint: use n_hidden for the width of the hidden layer")
    assert scrub(hint, HIDDEN) == hint  # the name and the hint are string literals: written for students
    assert scrub("the reference scored 0.874-0.946 over 20 seeds", HIDDEN) == MASK  # a comment is code
    assert len("reference scored 0.874-0") == GRAM


def test_a_message_is_built_by_the_grader_and_capped() -> None:
    assert failure_message("ValueError", "x" * 10_000, None, HIDDEN) == "ValueError: " + "x" * 2000
    assert len(failure_message("ValueError", "net.eval() " * 5000, None, HIDDEN)) <= MAX_MESSAGE
    assert failure_message("NotImplementedError", "", None, HIDDEN) == "NotImplementedError"
    assert failure_message("Bad Name!", "v", None, HIDDEN) == "Error: v"
    fields = {"check": "check_close", "name": None, "expected": "1", "observed": SOURCE, "hint": "", "message": "m"}
    assert failure_message("CheckFailure", "m", fields, HIDDEN).startswith(
        "CheckFailure: check_close: expected 1; observed x = public_part()\n### BEGIN HIDDEN TESTS\n" + MASK)
