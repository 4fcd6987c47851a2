"""What public and hidden test cells call: checks that explain a failure to a student.

Every ``check_<property>(obj, *, ..., name=...)`` returns quietly (some return the measured
value) or raises :class:`CheckFailure`, an ``AssertionError`` whose text says what was
expected, what was observed and what usually causes it; metric checks also fill ``value``,
``threshold`` and ``margin``. Checks never change the student's objects (models are copied or
their modes restored) and accept CPU or CUDA tensors and, where it makes sense, NumPy arrays.

One runnable example per check (these run as doctests in ``tests/checks``)::

    >>> import torch
    >>> from torch import nn
    >>> from medgrade.checks import *
    >>> check_shape(torch.zeros(8, 6), (None, 6), name="logits")
    >>> check_dtype(torch.zeros(8, dtype=torch.long), torch.int64, name="labels")
    >>> check_finite(torch.tensor([0.1, 0.2]), name="loss")
    >>> check_range(torch.rand(1, 28, 28), low=0.0, high=1.0, name="image")
    >>> check_close(torch.tensor([1.0, 2.0]), [1.0, 2.0], name="grad")
    >>> check_probabilities(torch.softmax(torch.randn(4, 3), dim=1), dim=1, name="probs")
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> check_forward_shape(net, (2, 1, 2, 2), (2, 3))
    >>> check_param_count(net, exact=15)
    >>> check_layers_present(net, [nn.Linear])
    >>> check_all_params_get_grad(net, (2, 1, 2, 2))
    >>> check_train_eval_behaviour(nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5)), (4, 4))
    >>> check_state_unchanged(net, lambda: net(torch.zeros(1, 1, 2, 2)).shape)
    torch.Size([1, 3])
    >>> with state_unchanged(net):
    ...     _ = net(torch.zeros(1, 4))
    >>> head_opt = torch.optim.SGD(net[1].parameters(), lr=0.1)
    >>> check_frozen(net, lambda: (net(torch.ones(1, 1, 2, 2)).sum().backward(), head_opt.step()), trainable="1.")
    (None, None)
    >>> def step(model, optimizer, loss_fn, images, labels):
    ...     optimizer.zero_grad()
    ...     loss = loss_fn(model(images), labels)
    ...     loss.backward()
    ...     optimizer.step()
    ...     return loss.item()
    >>> x, y = torch.randn(8, 1, 2, 2), torch.randint(0, 3, (8,))
    >>> check_train_step(step, net, loss_fn=nn.CrossEntropyLoss(), x=x, y=y)
    >>> _ = check_overfit_one_batch(net, loss_fn=nn.CrossEntropyLoss(), x=x, y=y,
    ...                             steps=50, lr=0.1, min_drop=0.5)
    >>> check_loss_decreasing([2.3, 2.1, 1.9, 1.8, 1.5, 1.2], min_relative_drop=0.2)
    >>> check_outputs_are_logits(net(x))
    >>> check_labels_shape(y, n=8, num_classes=3)
    >>> check_mode(net.train(), True)
    >>> check_accuracy([0, 1, 1, 0], [0, 1, 1, 1], at_least=0.7)
    0.75
    >>> check_auc([0, 1, 1, 0], [0.2, 0.9, 0.6, 0.4], at_least=0.9)
    1.0
    >>> check_f1([0, 1, 1, 0], [0, 1, 1, 1], at_least=0.7)
    0.8
    >>> check_sensitivity([0, 1, 1, 0], [0, 1, 1, 1], at_least=0.9)
    1.0
    >>> check_specificity([0, 1, 1, 0], [0, 1, 1, 1], at_least=0.5)
    0.5
    >>> check_metric_value(0.75, [0, 1, 1, 0], [0, 1, 1, 1], metric="accuracy")
    >>> mask = torch.zeros(1, 1, 4, 4); mask[..., :2, :2] = 1
    >>> check_dice(mask, mask, at_least=0.9).tolist()
    [1.0]
    >>> check_lesion_detection(mask[0, 0], mask[0, 0], min_tpf=1.0, min_ppv=1.0).tpf
    1.0
    >>> check_nt_xent(nt_xent, temperature=0.5)
    >>> check_function(lambda x: x.mean(0), lambda x: x.sum(0) / len(x),
    ...                [(torch.randn(3, 2),)], name="column_mean")
    >>> record = record_predictions("a03_probs", torch.tensor([0.2, 0.9, 0.6, 0.4]))
    >>> judge_predictions(record, [0, 1, 1, 0], metric="auc", at_least=0.8).value
    1.0
"""

from __future__ import annotations

from medgrade.checks.contrastive import check_nt_xent, nt_xent
from medgrade.checks.evidence import (
    Judgement,
    clear_evidence,
    collected_evidence,
    judge_predictions,
    judged,
    load_evidence,
    record_predictions,
)
from medgrade.checks.failure import CheckFailure
from medgrade.checks.functions import check_function
from medgrade.checks.metrics import (
    METRICS,
    check_accuracy,
    check_at_least,
    check_auc,
    check_f1,
    check_metric_value,
    check_sensitivity,
    check_specificity,
    metric_value,
)
from medgrade.checks.models import (
    check_all_params_get_grad,
    check_forward_shape,
    check_frozen,
    check_layers_present,
    check_param_count,
    check_state_unchanged,
    check_train_eval_behaviour,
    state_unchanged,
)
from medgrade.checks.segmentation import (
    EMPTY_RULE,
    LesionCounts,
    check_dice,
    check_lesion_detection,
    dice_score,
    lesion_counts,
)
from medgrade.checks.tensors import (
    check_close,
    check_dtype,
    check_finite,
    check_probabilities,
    check_range,
    check_shape,
)
from medgrade.checks.training import (
    check_labels_shape,
    check_loss_decreasing,
    check_mode,
    check_outputs_are_logits,
    check_overfit_one_batch,
    check_train_step,
)

__all__ = [
    "CheckFailure",
    # tensors
    "check_shape",
    "check_dtype",
    "check_finite",
    "check_range",
    "check_close",
    "check_probabilities",
    # models
    "check_forward_shape",
    "check_param_count",
    "check_layers_present",
    "check_all_params_get_grad",
    "check_train_eval_behaviour",
    "check_frozen",
    "check_state_unchanged",
    "state_unchanged",
    # training
    "check_train_step",
    "check_overfit_one_batch",
    "check_loss_decreasing",
    "check_outputs_are_logits",
    "check_labels_shape",
    "check_mode",
    # metrics
    "METRICS",
    "metric_value",
    "check_accuracy",
    "check_auc",
    "check_f1",
    "check_sensitivity",
    "check_specificity",
    "check_metric_value",
    "check_at_least",
    # segmentation
    "EMPTY_RULE",
    "dice_score",
    "check_dice",
    "LesionCounts",
    "lesion_counts",
    "check_lesion_detection",
    # contrastive
    "nt_xent",
    "check_nt_xent",
    # functions
    "check_function",
    # evidence
    "record_predictions",
    "collected_evidence",
    "clear_evidence",
    "load_evidence",
    "judge_predictions",
    "judged",
    "Judgement",
]
