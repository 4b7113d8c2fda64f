"""Rows seen for the first time: :class:`FirstSeenRows`, one part of :class:`~netdoctor.observe.torch.watch.TorchWatch`.

A network that memorises can raise its training accuracy on labels that carry no signal: with 1,000 rows over three
epochs, rows seen again are answered from memory (shuffled labels: 10% -> 40%), while a row the network has never been
trained on is answered at chance. What generalises is the accuracy on rows *before* any step has used them, so the
training batches are split by what the network has already been trained on:

* every training batch's inputs (the first tensor handed to the judged model's forward pass with gradients on) get one
  fingerprint per row: ``sum_j bits(x_j) * r_j`` in wrapping 64-bit integer arithmetic, over the :data:`COLUMNS`
  columns that vary most across the first batch, ``bits`` the bit pattern of the entry as a float64 (whatever the input's dtype) and ``r`` fixed odd integers of our own
  generator (exact: a row seen again gets the same fingerprint whatever batch it comes in; no random draw of the
  program's);
* a row whose fingerprint was not seen before is *first seen*: its prediction (the argmax of the loss input, computed
  before the step that trains on it) and its class target are counted into the current :class:`Block`, apart from
  the rows *seen before*.

The rules (``no-learning``) compare the accuracy on first-seen rows late in the first pass over the data with the
training accuracy at the end of the run.

Cost: a gather of the sampled columns, a multiply, a sum, an argmax and host reads of ``N`` fingerprints, labels and
predictions per counted loss call, and a set look-up per row in plain Python; only while the first pass lasts: after :data:`QUIET_CALLS` loss calls in a row with no new
row (the data has been seen whole), or once :data:`MAX_ROWS` rows are known, no fingerprint is taken (:attr:`done`).
"""

from __future__ import annotations

import operator
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Block", "FirstSeenRows", "COLUMNS", "MAX_ROWS", "QUIET_CALLS", "BLOCKS"]

COLUMNS = 64
"""Columns of a row fingerprinted at most: those that vary most across the first batch fingerprinted (two different
MNIST digits agree on the 64 pixels that vary most practically never; a collision only moves a first-seen row to the
rows seen before). Fewer columns, less work: the integer multiply is most of a batch's cost."""
MAX_ROWS = 1 << 18
"""Distinct rows remembered at most (a set of this many integers: ~20 MB); past it, no more fingerprints."""
QUIET_CALLS = 64
"""Counted loss calls in a row without a new row after which the first pass is over (the data repeats whole)."""
BLOCKS = 256
"""Blocks kept; beyond it, neighbours are merged pairwise (the first one stays alone)."""


@dataclass
class Block:
    """The training batches of optimizer steps ``first`` to ``last``, their rows split by whether they were seen before."""

    first: int
    last: int
    new_rows: int = 0
    new_correct: int = 0
    new_labels: dict[int, int] = field(default_factory=dict)
    """Class target -> first-seen rows of it."""
    old_rows: int = 0
    old_correct: int = 0

    def merged(self, other: Block) -> Block:
        labels = dict(self.new_labels)
        for k, v in other.new_labels.items():
            labels[k] = labels.get(k, 0) + v
        return Block(min(self.first, other.first), max(self.last, other.last), self.new_rows + other.new_rows,
                     self.new_correct + other.new_correct, labels, self.old_rows + other.old_rows,
                     self.old_correct + other.old_correct)


class FirstSeenRows:
    """Splits every counted training batch into rows seen for the first time and rows seen before (module docstring).

    Args:
        torch: the torch module.
    """

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.seen: set[int] = set()
        """Fingerprints of every row trained on so far (while not :attr:`done`)."""
        self.blocks: list[Block] = []
        self.done = False
        """No more fingerprints: the first pass is over (or :data:`MAX_ROWS` rows are known)."""
        self.pass_over = False
        """The data was seen whole: :data:`QUIET_CALLS` loss calls in a row brought no new row."""
        self.quiet = 0
        """Counted loss calls in a row without a new row."""
        self.input: tuple[Any, Any] | None = None
        """(weak reference to the judged model's latest output with gradients on, the input it was computed from)."""
        self._weights: Any = None
        self._columns: Any = None

    # -- what the forward hook hands over ---------------------------------------------
    def note_forward(self, inputs: Any, output: Any) -> None:
        """A root model's forward pass with gradients on: ``inputs`` its first positional argument."""
        if self.done:
            return
        torch = self.torch
        if not issubclass(type(inputs), torch.Tensor) or not issubclass(type(output), torch.Tensor):
            return
        if inputs.dim() < 1 or output.dim() < 1 or int(inputs.shape[0]) != int(output.shape[0]):
            return
        self.input = (weakref.ref(output), inputs)

    def inputs_for(self, scores: Any) -> Any:
        """The input rows the loss input ``scores`` was computed from (None: not known)."""
        if self.input is None:
            return None
        ref, inputs = self.input
        out = ref()
        if out is not None and out is not scores and int(out.shape[0]) != int(scores.shape[0]):
            return None
        return inputs if int(inputs.shape[0]) == int(scores.shape[0]) else None

    # -- fingerprints -------------------------------------------------------------------
    def fingerprints(self, inputs: Any) -> list[int]:
        """One 64-bit fingerprint per row of ``inputs`` (see the module docstring)."""
        torch = self.torch
        with torch.no_grad():
            a = inputs.detach().reshape(int(inputs.shape[0]), -1)
            d = int(a.shape[1])
            if self._columns is None or self._columns[0] != d or self._columns[1].device != a.device:
                # the columns that vary most across the first batch (an image's border is 0 in every row)
                spread = a.double().std(0) if a.shape[0] > 1 else a.double().abs()[0]
                cols = spread.argsort(descending=True, stable=True)[:COLUMNS].sort().values
                gen = torch.Generator().manual_seed(0x5EED)
                weights = torch.randint(1, 1 << 62, (int(cols.numel()),), generator=gen, dtype=torch.int64) | 1
                self._columns = (d, cols)
                self._weights = weights.to(a.device)
            a = a.index_select(1, self._columns[1])
            bits = a.to(torch.float64).view(torch.int64)  # integers (< 2**53) too: a row's value, not its dtype
            return (bits * self._weights).sum(1).tolist()

    # -- one counted loss call ------------------------------------------------------------
    def add(self, scores: Any, targets: Any, step: int) -> None:
        """One training loss call: ``scores`` (N, C), ``targets`` class indices (N,) (-1: no label), for ``step``."""
        if self.done:
            return
        inputs = self.inputs_for(scores)
        if inputs is None:
            return
        keys = self.fingerprints(inputs)
        with self.torch.no_grad():
            predicted = scores.detach().argmax(1).tolist()
        labels = targets.tolist()
        seen, block = self.seen, self._block(step)
        size = len(seen)
        is_new = [key not in seen for key in keys]
        seen.update(keys)
        fresh = len(seen) - size
        if fresh == sum(is_new) and (fresh == 0 or fresh == len(keys)) and (not labels or min(labels) >= 0):
            # the common batches, all rows new (the first pass) or all seen before (after it): counted at C speed
            right = sum(map(operator.eq, labels, predicted))
            if fresh:
                block.new_rows += len(labels)
                block.new_correct += right
                for label, n in Counter(labels).items():
                    block.new_labels[label] = block.new_labels.get(label, 0) + n
            else:
                block.old_rows += len(labels)
                block.old_correct += right
        else:
            self._count_rows(block, keys, labels, predicted, is_new)
        self.quiet = 0 if fresh else self.quiet + 1
        if self.quiet >= QUIET_CALLS:
            self.done = self.pass_over = True
        elif len(seen) >= MAX_ROWS:
            self.done = True
        if self.done:
            self.seen = set()
            self.input = None

    @staticmethod
    def _count_rows(block: Block, keys: list[int], labels: list[int], predicted: list[int], is_new: list[bool]) -> None:
        """Count a batch of new rows and rows seen before, one row at a time (a row drawn twice into the batch is seen
        before the second time; a label below 0 is no label)."""
        firsts: set[int] = set()
        for key, label, guess, new in zip(keys, labels, predicted, is_new):
            new = new and key not in firsts
            firsts.add(key)
            if label < 0:
                continue
            if new:
                block.new_rows += 1
                block.new_correct += guess == label
                block.new_labels[label] = block.new_labels.get(label, 0) + 1
            else:
                block.old_rows += 1
                block.old_correct += guess == label

    def _block(self, step: int) -> Block:
        if self.blocks and self.blocks[-1].last == step:
            return self.blocks[-1]
        self.blocks.append(Block(step, step))
        if len(self.blocks) > BLOCKS:
            head, rest = self.blocks[0], self.blocks[1:]
            self.blocks = [head] + [rest[k].merged(rest[k + 1]) if k + 1 < len(rest) else rest[k]
                                    for k in range(0, len(rest), 2)]
        return self.blocks[-1]

    # -- what the rules read ----------------------------------------------------------------
    def halves(self, since: int = 0) -> tuple[Block, Block] | None:
        """The rows seen for the first time from optimizer step ``since`` on, in two halves by rows (the earlier and the
        later steps of the first pass), each merged into one block; None when there are none, or no row was ever seen
        again (every row new: nothing to compare)."""
        blocks = [b for b in self.blocks if b.first >= since and b.new_rows]
        if len(blocks) < 2 or not any(b.old_rows for b in self.blocks):
            return None
        total, acc = sum(b.new_rows for b in blocks), 0
        for k, b in enumerate(blocks):
            acc += b.new_rows
            if acc >= total / 2 or k == len(blocks) - 2:
                break
        early, late = blocks[0], blocks[k + 1]
        for b in blocks[1:k + 1]:
            early = early.merged(b)
        for b in blocks[k + 2:]:
            late = late.merged(b)
        return early, late

    def seen_before(self, first: int, last: int) -> bool:
        """Whether the rows of optimizer steps ``first`` to ``last`` were (nearly all: 90%) rows seen before: counted so,
        or trained on after the first pass was over."""
        inside = [b for b in self.blocks if b.first >= first and b.last <= last]
        new, old = sum(b.new_rows for b in inside), sum(b.old_rows for b in inside)
        if self.pass_over and (not inside or first > self.blocks[-1].last):
            return True
        return new + old > 0 and old >= 0.9 * (new + old)

