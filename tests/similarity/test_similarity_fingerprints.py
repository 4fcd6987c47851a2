"""The parts of the similarity report: token fingerprints (what a disguise changes must not change them; what
the code does must) and clues from grading (each says how much of the class shares it)."""

from __future__ import annotations

import os
import random
import subprocess
import sys

from medgrade.similarity.fingerprints import SEPARATOR, WINDOW, K, bound_names, kgram_hashes, tokens, winnow

CODE = '''\
import torch
import torch.nn.functional as F
def train(model, loader, lr=1e-3):
    """Train for one epoch."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)  # Adam, as in the lecture
    for images, labels in loader:
        opt.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        opt.step()
    return loss.item()
'''

DISGUISED = '''\
%matplotlib inline
import torch
import torch.nn.functional as F
def train(net, batches, lr=0.001):
    # one pass over the data
    optimiser = torch.optim.Adam(net.parameters(),
                                 lr=lr)
    for x, y in batches:
        optimiser.zero_grad(); err = F.cross_entropy(net(x), y)


        err.backward()
        optimiser.step()
    return err.item()
'''


def _words(source: str) -> list[str]:
    return [w for w, _ in tokens(source, bound_names([source]))]


def test_renaming_recommenting_reformatting_and_magics_change_no_token() -> None:
    assert _words(CODE) == _words(DISGUISED)


def test_what_the_code_calls_keeps_its_name() -> None:
    words = _words(CODE)
    assert "V" in words and "lr" not in words and "model" not in words  # the student's names are placeholders
    assert {"torch", "optim", "Adam", "zero_grad", "cross_entropy", "backward", "item"} <= set(words)
    assert _words(CODE.replace("Adam", "SGD")) != words
    assert _words(CODE.replace("1e-3", "0.01")) != words  # a number is a choice: it keeps its value


def test_docstrings_and_strings() -> None:
    assert "S" not in _words(CODE)  # the docstring is dropped like a comment
    assert _words('print("hello")') == ["print", "(", "S", ")", ";"]
    assert _words("x = f'{a} and {b}'") == ["V", "=", "S", ";"]


def test_names_nobody_imported_are_the_students_and_keyword_arguments_are_the_librarys() -> None:
    assert _words("y = undefined_helper(x, kernel_size=3)") == ["V", "=", "V", "(", "V", ",", "kernel_size", "=", "3",
                                                                 ")", ";"]


def test_attributes_set_by_the_student_are_renameable() -> None:
    a = "import torch.nn as nn\nclass M(nn.Module):\n    def __init__(self):\n        self.conv = nn.Conv2d(1, 4, 3)\n"
    assert _words(a) == _words(a.replace("conv", "first_layer"))
    assert "Conv2d" in _words(a)


def test_a_cell_that_does_not_parse_yields_what_it_can() -> None:
    words = _words("import torch\nx = torch.ones(3)\ny = (x +\n")
    assert words[3:9] == ["V", "=", "torch", ".", "ones", "("]


def test_kgrams_never_span_two_cells() -> None:
    words = ["a"] * 20 + [SEPARATOR] + ["a"] * 20
    hashes = kgram_hashes(words)
    assert len(hashes) == len(words) - K + 1
    assert all(h is None for h in hashes[20 - K + 1:21])
    assert hashes[0] == hashes[21] is not None


def test_hashes_are_the_same_in_every_process() -> None:
    """Python's hash() is salted per process: fingerprints made with it would change run to run."""
    code = ("from medgrade.similarity.fingerprints import kgram_hashes\n"
            "print(kgram_hashes(list('abcdefghijklmnopqrstuvwxyz'))[:3])")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(outs) == 1


def test_winnowing_keeps_a_fingerprint_of_every_long_enough_shared_run() -> None:
    rng = random.Random(0)
    vocab = [f"t{i}" for i in range(30)]
    for _ in range(50):
        shared = [rng.choice(vocab) for _ in range(K + WINDOW - 1)]
        a = [rng.choice(vocab) for _ in range(rng.randint(0, 40))] + shared + [rng.choice(vocab) for _ in range(9)]
        b = [rng.choice(vocab) for _ in range(rng.randint(0, 40))] + shared
        assert winnow(kgram_hashes(a)).keys() & winnow(kgram_hashes(b)).keys()


def test_winnowing_keeps_far_fewer_hashes_than_kgrams() -> None:
    rng = random.Random(1)
    words = [rng.choice("abcdefghij") for _ in range(2000)]
    kept = sum(len(v) for v in winnow(kgram_hashes(words)).values())
    assert kept < len(words) * 2.5 / (WINDOW + 1)  # density about 2 / (w + 1)


def test_numbers_a_student_chose_are_read_with_where_they_went() -> None:
    from medgrade.similarity.clues import numeric_constants

    found = numeric_constants(["opt = Adam(p, lr=0.0037)\ny = -0.5 + f(-3)\nz = 7"])
    assert found == [("0.0037", "Adam(lr=0.0037)"), ("-3", "f(-3)"), ("7", "the constant 7"),
                     ("-0.5", "the constant -0.5")]


def test_a_clue_says_how_much_of_the_class_shares_it() -> None:
    import numpy as np

    from medgrade.similarity.clues import ClassEvidence, Observed

    standard = np.linspace(0, 1, 50)
    odd = np.linspace(1, 0, 50)
    observed = {f"s{i:02d}": Observed(predictions={"test_probs: scores": standard if i < 12 else np.full(50, i / 40)},
                                      choices={"Dropout(0.37)"} if i in (12, 13) else set(), graded=True)
                for i in range(40)}
    observed["s12"].predictions["test_probs: scores"] = odd
    observed["s13"].predictions["test_probs: scores"] = odd + 1e-4
    evidence = ClassEvidence(observed)
    common = evidence.clues("s00", "s01")
    assert [(c.kind, c.rare) for c in common] == [("predictions", False)]
    assert "12 of 40 graded submissions agree this closely with s00's" in common[0].text
    rare = evidence.clues("s12", "s13")
    assert [(c.kind, c.rare) for c in rare] == [("predictions", True), ("choice", True)]
    assert rare[1].text == "both wrote Dropout(0.37), which no code of the course uses; 2 of 40 submissions do"
    assert evidence.clues("s12", "s20") == []
