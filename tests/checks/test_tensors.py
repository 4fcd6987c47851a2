from __future__ import annotations

import numpy as np
import pytest
import torch

from medgrade.checks import (
    CheckFailure,
    check_close,
    check_dtype,
    check_finite,
    check_probabilities,
    check_range,
    check_shape,
)


class TestCheckShape:
    def test_right_shape_and_wildcards_pass(self) -> None:
        check_shape(torch.zeros(8, 6), (8, 6), name="logits")
        check_shape(np.zeros((3, 6)), (None, 6), name="logits")

    def test_extra_singleton_dimension(self) -> None:
        with pytest.raises(CheckFailure, match=r"^check_shape\(logits\): expected shape "
                           r"\(8, 6\); observed \(8, 1, 6\)\. Hint: there is an extra "
                           r"dimension of size 1 at position 1") as e:
            check_shape(torch.zeros(8, 1, 6), (8, 6), name="logits")
        assert e.value.expected == "shape (8, 6)" and e.value.observed == "(8, 1, 6)"

    def test_lost_channel_dimension_gets_its_own_hint(self) -> None:
        with pytest.raises(CheckFailure, match="one dimension is missing .*unsqueeze"):
            check_shape(torch.zeros(8, 64, 64), (8, 2, 64, 64), name="mask")

    def test_wrong_size_names_the_dimension(self) -> None:
        with pytest.raises(CheckFailure, match=r"dim 1 is 5 instead of 6"):
            check_shape(torch.zeros(8, 5), (None, 6), name="logits")

    def test_permuted_layout(self) -> None:
        with pytest.raises(CheckFailure, match="wrong order.*channels-first"):
            check_shape(torch.zeros(2, 28, 28, 3), (2, 3, 28, 28), name="images")

    def test_list_is_not_a_tensor(self) -> None:
        with pytest.raises(CheckFailure, match="observed a list of length 2.*torch.Tensor"):
            check_shape([1, 2], (2,), name="x")

    def test_bad_expected_is_an_instructor_error(self) -> None:
        with pytest.raises(TypeError):
            check_shape(torch.zeros(2), 2, name="x")  # type: ignore[arg-type]


class TestCheckDtype:
    def test_right_dtype_passes(self) -> None:
        check_dtype(torch.zeros(2), torch.float32, name="x")
        check_dtype(np.zeros(2, np.int64), (torch.int64, "int32"), name="y")

    def test_numpy_float64(self) -> None:
        with pytest.raises(CheckFailure, match="observed dtype float64.*NumPy arrays default"):
            check_dtype(torch.from_numpy(np.zeros(2)), torch.float32, name="x")

    def test_float_labels(self) -> None:
        with pytest.raises(CheckFailure, match="int64.*use .long()"):
            check_dtype(torch.zeros(4), torch.int64, name="labels")


class TestCheckFinite:
    def test_finite_passes(self) -> None:
        check_finite(np.array([1.0, 2.0]), name="x")

    def test_nan_counted_and_located(self) -> None:
        with pytest.raises(CheckFailure, match=r"1 NaN and 1 infinite of 4 values "
                           r"\(first at index \(1,\)\).*log\(0\)"):
            check_finite(torch.tensor([0.0, float("nan"), float("inf"), 1.0]), name="loss")


class TestCheckRange:
    def test_in_range_passes(self) -> None:
        check_range(torch.rand(3, 3), low=0, high=1, name="image")

    def test_unscaled_pixels(self) -> None:
        with pytest.raises(CheckFailure, match=r"outside \(min 0, max 255\).*divide by 255"):
            check_range(torch.tensor([0.0, 255.0]), low=0, high=1, name="image")

    def test_negative_values(self) -> None:
        with pytest.raises(CheckFailure, match="1 of 2 values outside.*logits"):
            check_range(np.array([-0.5, 0.5]), low=0, high=1, name="probs")


class TestCheckClose:
    def test_within_tolerance_passes(self) -> None:
        check_close(torch.tensor([1.0, 2.0]), np.array([1.0, 2.0 + 1e-6]), rtol=1e-5, name="g")

    def test_reports_max_difference_and_where(self) -> None:
        with pytest.raises(CheckFailure, match=r"differs in 1 of 4 elements; max abs "
                           r"difference 0\.5 at index \(1, 0\) \(got 3\.5, expected 3\)") as e:
            check_close(torch.tensor([[1.0, 2.0], [3.5, 4.0]]), [[1.0, 2.0], [3.0, 4.0]],
                        name="grad")
        assert e.value.check == "check_close" and e.value.name == "grad"

    def test_shape_mismatch(self) -> None:
        with pytest.raises(CheckFailure, match=r"shape \(2,\), expected \(2, 1\)"):
            check_close(torch.zeros(2), torch.zeros(2, 1), name="x")

    def test_custom_hint(self) -> None:
        with pytest.raises(CheckFailure, match="Hint: divide by N"):
            check_close(2.0, 1.0, name="mean", hint="divide by N")


class TestCheckProbabilities:
    def test_softmax_passes(self) -> None:
        check_probabilities(torch.softmax(torch.randn(5, 3), dim=1), dim=1, name="p")

    def test_logits(self) -> None:
        with pytest.raises(CheckFailure, match="values in \\[0, 1\\].*look like logits"):
            check_probabilities(torch.tensor([[2.0, -1.0]]), name="p")

    def test_softmax_over_wrong_dim(self) -> None:
        p = torch.softmax(torch.randn(3, 4), dim=0)
        with pytest.raises(CheckFailure, match="softmax was taken over dim 0, not dim 1"):
            check_probabilities(p, dim=1, name="p")
