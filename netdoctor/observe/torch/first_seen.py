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

Whether the labels follow the inputs at all is read apart from the network (:meth:`FirstSeenRows.neighbours`): the
first :data:`NEIGHBOUR_ROWS` distinct rows of the pass are kept (their fingerprinted columns and labels; floating
inputs only, token ids have no distance to read), and each row's nearest other row by those columns is asked for its
label. Inputs that carry their labels (digits: 76-80% of 1,000 MNIST rows on their 64 most varying pixels) hand a
row's label to its neighbour far more often than labels drawn at random would (the chance two rows share a label, ``sum_k p_k ** 2``, about 10%); labels shuffled apart from the
images or shifted by a row match at that chance (9-11%). A network that answers its first-seen rows at chance while
the labels follow the inputs has not learned *yet*; one whose labels match no better by neighbours than at random has
nothing to learn.

Cost: per counted loss call, a gather of the sampled columns (a copy of :data:`COLUMNS` entries a row: what the
program does to its batch afterwards cannot change it), an argmax, and a list append; every :data:`PENDING_CALLS`
calls (or :data:`PENDING_ROWS` rows), the calls kept are fingerprinted together: one concatenation, a conversion, a
multiply, a sum and host reads of the fingerprints, labels and predictions, then a set look-up per row in plain
Python. A call's cost is then a few tensor operations whatever its batch size, most of a loss call's share of the
work being done once for :data:`PENDING_CALLS` of them. Labels are kept as the tensors the loss was given, with their
version counters: a label tensor changed in place before its calls are fingerprinted (a buffer the program refills)
has its rows fingerprinted but not counted, and labels are copied at each call from then on. All of it only while
the first pass lasts: after :data:`QUIET_CALLS` loss calls in a row with no new row (the data has been seen whole),
or once :data:`MAX_ROWS` rows are known, no fingerprint is taken (:attr:`done`).

Whose first pass: the rows are new *to a model*. A program that first overfits one batch with a throwaway model (a
sanity check: 20 steps on the same 32 rows) ends that model's "pass" after :data:`QUIET_CALLS` calls; the real
model, built after it, starts a pass of its own (:meth:`FirstSeenRows.restart`): a model never seen before, once the
earlier one has trained (its pass over, or calls at an earlier step than this one), or a new optimizer's first step
over tensors no step has trained. The judged model's blocks are those from its first step on (the rules read
``halves(since)``).

The inputs: the first positional argument of the model's forward pass (an ``nn.Module``), or, for a model of loose
tensors (``h = relu(x @ W1 + b1)``, no module), the rows the deepest matrix product of the loss input's graph was
computed from (:func:`graph_rows`): a tensor saved for the backward pass with one row per score row and no gradient
of its own.
"""

from __future__ import annotations

import operator
import weakref
from collections import Counter
from dataclasses import field
from typing import Any

from netdoctor._lazy import dataclass
from netdoctor.observe.torch.counts import version_of

__all__ = ["Block", "FirstSeenRows", "NeighbourRows", "graph_rows", "COLUMNS", "MAX_ROWS", "QUIET_CALLS", "BLOCKS", "PENDING_CALLS",
           "PENDING_BYTES", "GRAPH_NODES", "NEIGHBOUR_ROWS"]

COLUMNS = 64
"""Columns of a row fingerprinted at most: those that vary most across the first batch fingerprinted (two different
MNIST digits agree on the 64 pixels that vary most practically never; a collision only moves a first-seen row to the
rows seen before). Fewer columns, less work: the integer multiply is most of a batch's cost."""
MAX_ROWS = 1 << 18
"""Distinct rows remembered at most (a set of this many integers: ~20 MB); past it, no more fingerprints."""
QUIET_CALLS = 16
"""Counted loss calls in a row without a new row after which the first pass is over (the data repeats whole). Rows
drawn at random with replacement bring a new row in most batches until nearly every row is known (at a share ``c`` of
the rows known, 16 batches of 16 rows bring none with probability ``c ** 256``), so the pass ends when the data does;
fingerprints after it only count rows seen before, which the rules need a few of."""
PENDING_CALLS = 16
"""Loss calls kept (their gathered columns, predictions and labels) before they are fingerprinted together."""
PENDING_BYTES = 1 << 24
"""Bytes of input batches kept at most before the calls kept are fingerprinted (a larger batch is fingerprinted at its
own call)."""
BLOCKS = 256
"""Blocks kept; beyond it, neighbours are merged pairwise (the first one stays alone)."""
NEIGHBOUR_ROWS = 1024
"""Distinct labelled rows of the pass kept for :meth:`FirstSeenRows.neighbours` (their fingerprinted columns: 512 KB
at most; the distances between them, one ``cdist`` of 1,024 x 1,024, once per report)."""
GRAPH_NODES = 256
"""Autograd nodes visited at most by :func:`graph_rows` (an MLP's loss input has a dozen)."""
OWNERS = 8
"""Models remembered by :meth:`FirstSeenRows.owned_by` (a program that builds more starts over at each new one)."""
SAVED_INPUTS = ("_saved_self", "_saved_mat1", "_saved_input")
"""The saved tensors of a matrix product's or convolution's autograd node that hold its left operand (``MmBackward0``,
``AddmmBackward0``, ``ConvolutionBackward0``): the rows it was computed from."""


def graph_rows(torch: Any, scores: Any) -> tuple[Any, Any] | None:
    """(the input rows, the first-layer weight) of a model of loose tensors, read from the graph of its output
    ``scores`` (N, C): the deepest node (breadth first, at most :data:`GRAPH_NODES`) holding, in
    :data:`SAVED_INPUTS`, a floating tensor of ``N`` rows that needs no gradient (the data, not an activation), and
    the first leaf tensor below that node (the weight it multiplies, which names the model). None when there is none.
    A mask saved by a dropout on a hidden layer is no such node's left operand, and the first layer is deeper."""
    fn = getattr(scores, "grad_fn", None)
    if fn is None:
        return None
    n = int(scores.shape[0])
    found: tuple[Any, Any] | None = None
    seen: set[int] = set()
    queue, k = [fn], 0
    while k < len(queue) and len(seen) < GRAPH_NODES:
        node = queue[k]
        k += 1
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if hasattr(node, "variable"):
            continue
        for name in SAVED_INPUTS:
            t: Any = getattr(node, name, None)
            if (issubclass(type(t), torch.Tensor) and t.dim() >= 2 and int(t.shape[0]) == n and not t.requires_grad
                    and t.dtype.is_floating_point):
                found = (t, node)
                break
        queue.extend(f for f, _ in node.next_functions)
    if found is None:
        return None
    stack, visited = [found[1]], 0
    while stack and visited < GRAPH_NODES:
        node = stack.pop()
        visited += 1
        if node is None:
            continue
        var = getattr(node, "variable", None)
        if var is not None:
            return found[0], var
        stack.extend(f for f, _ in node.next_functions)
    return None


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
    calls: int = 0
    """Counted loss calls that brought a new row (training batches of the first pass): more than the steps when the
    program accumulates gradients; a second loss on the same batch (an auxiliary head) brings none and is not one."""

    def merged(self, other: Block) -> Block:
        labels = dict(self.new_labels)
        for k, v in other.new_labels.items():
            labels[k] = labels.get(k, 0) + v
        return Block(min(self.first, other.first), max(self.last, other.last), self.new_rows + other.new_rows,
                     self.new_correct + other.new_correct, labels, self.old_rows + other.old_rows,
                     self.old_correct + other.old_correct, self.calls + other.calls)


class NeighbourRows:
    """Distinct labelled rows of a pass (their fingerprinted columns), for the nearest-neighbour reading of whether the
    labels follow the inputs (module docstring)."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.cols: list[Any] = []
        """The fingerprinted columns (float64, on the CPU) of the rows kept, in chunks."""
        self.labels: list[int] = []
        self.keys: set[int] = set()

    def room(self) -> bool:
        return len(self.labels) < NEIGHBOUR_ROWS

    def keep(self, cols: Any, keys: list[int], labels: list[int]) -> None:
        """Keep the labelled rows of one call not kept before (``cols`` their fingerprinted columns, ``keys`` their
        fingerprints), up to :data:`NEIGHBOUR_ROWS`."""
        room, kept = NEIGHBOUR_ROWS - len(self.labels), self.keys
        pick = []
        for k, (key, label) in enumerate(zip(keys, labels)):
            if label >= 0 and key not in kept:
                kept.add(key)
                pick.append(k)
                self.labels.append(label)
                if len(pick) >= room:
                    break
        if pick:
            self.cols.append(cols[pick].to("cpu", self.torch.float64))

    def read(self) -> tuple[int, int, float] | None:
        """(rows kept, rows whose nearest other kept row has their label, the share of such rows expected of labels
        unrelated to the inputs); None when fewer than two are kept.

        The nearest row is by Euclidean distance over the fingerprinted columns (rows equal on them are one row). The
        share by chance is the chance that another row drawn at random has a row's label, averaged over the rows:
        ``sum_k n_k (n_k - 1) / (n (n - 1))`` over the labels' counts ``n_k``."""
        n = len(self.labels)
        if n < 2:
            return None
        torch = self.torch
        with torch.no_grad():
            x = torch.cat(self.cols) if len(self.cols) > 1 else self.cols[0]
            d = torch.cdist(x, x)
            d.fill_diagonal_(float("inf"))
            labels = torch.tensor(self.labels)
            hits = int((labels[d.argmin(1)] == labels).sum())
        counts = Counter(self.labels).values()
        return n, hits, sum(c * (c - 1) for c in counts) / (n * (n - 1))


class FirstSeenRows:
    """Splits every counted training batch into rows seen for the first time and rows seen before (module docstring).

    Args:
        torch: the torch module.
    """

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.seen: set[int] = set()
        """Fingerprints of every row trained on so far (while not :attr:`done`)."""
        self._blocks: list[Block] = []
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
        """(width of the rows, the chosen columns as a tensor on the inputs' device)."""
        self._pending: list[list[Any]] = []
        """Loss calls kept, not fingerprinted yet: ``[inputs, version, scores, version, labels, version, step]`` (a
        version -1: a copy made at the call)."""
        self._pending_bytes = 0
        self._pending_kind: tuple[Any, ...] | None = None
        """What the calls kept have in common (devices, widths, the inputs' dtype): each kept part is one concatenation."""
        self.copying = False
        """A kept tensor was changed in place before it was read (a buffer the program refills): the columns, predictions
        and labels are copied at each call from then on."""
        self._owners: list[Any] = []
        """Weak references to the models seen (a module, or a loose model's first-layer weight), the latest last."""
        self._owner_step = 0
        """The step at which the latest model was first seen."""
        self.restarts = 0
        """Times a new model's pass began (:meth:`restart`)."""
        self.near = NeighbourRows(torch)
        """The rows of the pass kept for :meth:`neighbours`."""

    # -- whose pass ------------------------------------------------------------------------
    def owned_by(self, owner: Any, step: int) -> None:
        """``owner`` (a module, or a loose model's first-layer weight) computed the latest output, at ``step``: a model
        never seen before starts a pass of its own (:meth:`restart`) once the earlier one has trained (its pass over, or
        first seen at an earlier step: two models of one step, a feature extractor and a head, share one pass)."""
        owners = self._owners
        if owners and owners[-1]() is owner:
            return
        if any(r() is owner for r in owners):
            return
        if owners and (self.done or step > self._owner_step):
            self.restart()
        del owners[:-OWNERS + 1]
        owners.append(weakref.ref(owner))
        self._owner_step = step

    def new_tensors_trained(self) -> None:
        """An optimizer's first step over tensors no step has trained before: a new model (of loose tensors, whose
        graph is not read once the pass is over) begins its own pass, when the earlier one's is over."""
        if self.done and self._blocks:
            self.restart()
            self._owners = []

    def restart(self) -> None:
        """A new model's first pass: every row is new to it (the blocks counted so far stay, for the steps before)."""
        self.flush()
        self.seen = set()
        self.done = self.pass_over = self.copying = False
        self.quiet = 0
        self.input = None
        self._pending, self._pending_bytes, self._pending_kind = [], 0, None
        self.near = NeighbourRows(self.torch)
        self.restarts += 1

    # -- what the forward hook hands over ---------------------------------------------
    def note_forward(self, inputs: Any, output: Any, module: Any = None, step: int = 0) -> None:
        """A root model's forward pass with gradients on: ``inputs`` its first positional argument, ``module`` the model
        (see :meth:`owned_by`), at optimizer step ``step``."""
        if module is not None:
            self.owned_by(module, step)
        if self.done:
            return
        torch = self.torch
        if not issubclass(type(inputs), torch.Tensor) or not issubclass(type(output), torch.Tensor):
            return
        if inputs.dim() < 1 or output.dim() < 1 or int(inputs.shape[0]) != int(output.shape[0]):
            return
        self.input = (weakref.ref(output), inputs)

    def inputs_for(self, scores: Any, step: int = 0) -> Any:
        """The input rows the loss input ``scores`` was computed from (None: not known): the forward pass's input of a
        module, else (no module's forward seen) the rows read from the graph (:func:`graph_rows`)."""
        if self.input is None:
            found = graph_rows(self.torch, scores)
            if found is None:
                return None
            self.owned_by(found[1], step)
            return found[0]
        ref, inputs = self.input
        out = ref()
        if out is not None and out is not scores and int(out.shape[0]) != int(scores.shape[0]):
            return None
        return inputs if int(inputs.shape[0]) == int(scores.shape[0]) else None

    # -- fingerprints -------------------------------------------------------------------
    def _choose_columns(self, a: Any) -> None:
        """The :data:`COLUMNS` columns of the rows ``a`` (N, d) that vary most across them (an image's border is 0 in
        every row) and the fingerprint's fixed odd weights."""
        torch = self.torch
        spread = a.double().std(0) if a.shape[0] > 1 else a.double().abs()[0]
        cols = spread.argsort(descending=True, stable=True)[:COLUMNS].sort().values
        gen = torch.Generator().manual_seed(0x5EED)
        weights = torch.randint(1, 1 << 62, (int(cols.numel()),), generator=gen, dtype=torch.int64) | 1
        self._columns = (int(a.shape[1]), cols)
        self._weights = weights.to(a.device)

    def _gather(self, inputs: Any) -> Any:
        """The fingerprinted columns of ``inputs`` (N, ...) as a new tensor (N, <= :data:`COLUMNS`)."""
        return inputs.detach().reshape(int(inputs.shape[0]), -1).index_select(1, self._columns[1])

    def fingerprints(self, gathered: Any) -> list[int]:
        """One 64-bit fingerprint per row of the gathered columns ``gathered`` (see the module docstring)."""
        torch = self.torch
        bits = gathered.to(torch.float64).view(torch.int64)  # integers (< 2**53) too: a row's value, not its dtype
        return (bits * self._weights).sum(1).tolist()

    # -- one counted loss call ------------------------------------------------------------
    def add(self, scores: Any, targets: Any, step: int) -> None:
        """One training loss call: ``scores`` (N, C), ``targets`` class indices (N,) (-1: no label), for ``step``: kept,
        and fingerprinted with the calls kept before it (see the module docstring)."""
        if self.done:
            return
        inputs = self.inputs_for(scores, step)
        if inputs is None:
            return
        n = int(inputs.shape[0])
        if not n:
            return
        d = inputs.numel() // n
        kind = (inputs.device, inputs.dtype, d, scores.device, int(scores.shape[1]), targets.device)
        if kind != self._pending_kind:
            self.flush()
            self._pending_kind = kind
            if self._columns is None or self._columns[0] != d or self._columns[1].device != inputs.device:
                with self.torch.no_grad():
                    self._choose_columns(inputs.detach().reshape(n, -1))
        last = self._pending[-1] if self._pending else None
        if last is not None and not self.copying and (version_of(last[2]) != last[3] or version_of(last[4]) != last[5] or (
                last[1] >= 0 and version_of(last[0]) != last[1])):
            self.flush()  # the last call's tensors were refilled in place (its rows are lost): copies from now on
            self.copying = True
        with self.torch.no_grad():
            scores = scores.detach()  # without its graph (kept for a few calls, it would hold a retained graph's buffers)
            if self.copying or inputs._base is not None:
                # a view (a slice of the data set, which the program may shuffle in place) or a refilled buffer: copied
                kept = [self._gather(inputs), -1]
            else:
                kept = [inputs, version_of(inputs)]
                self._pending_bytes += inputs.numel() * inputs.element_size()
            if self.copying or targets._base is not None:
                targets = targets.clone()
            self._pending.append([*kept, scores, version_of(scores), targets, version_of(targets), step])
        if len(self._pending) >= PENDING_CALLS or self._pending_bytes >= PENDING_BYTES:
            self.flush()

    def flush(self) -> None:
        """Fingerprint the loss calls kept and count their rows, call by call in the order they came (a call whose
        inputs were changed in place since is lost; one whose scores or labels were has its rows counted as seen, with
        no label)."""
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        if not pending or self.done:
            return
        torch = self.torch
        whole = [k for k in pending if k[1] < 0 or version_of(k[0]) == k[1]]
        if not whole:
            return
        with torch.no_grad():
            gathered = [k[0] if k[1] < 0 else self._gather(k[0]) for k in whole]
            cols = torch.cat(gathered) if len(gathered) > 1 else gathered[0]
            keys = self.fingerprints(cols)
            predicted = torch.cat([k[2] for k in whole]).argmax(1).tolist()
            labels = torch.cat([k[4] for k in whole]).tolist()
        at = 0
        for k in whole:
            n = int(k[4].shape[0])
            if version_of(k[2]) != k[3] or version_of(k[4]) != k[5]:
                labels[at:at + n] = [-1] * n  # changed in place before it was read: the rows, with no label
            if self.near.room() and cols.dtype.is_floating_point:  # not token ids: no distance to read
                self.near.keep(cols[at:at + n], keys[at:at + n], labels[at:at + n])
            self._count_call(keys[at:at + n], labels[at:at + n], predicted[at:at + n], k[6])
            at += n
            if self.done:
                return

    def neighbours(self) -> tuple[int, int, float] | None:
        """:meth:`NeighbourRows.read` over the rows kept of the pass (the calls kept fingerprinted first)."""
        self.flush()
        return self.near.read()

    def _count_call(self, keys: list[int], labels: list[int], predicted: list[int], step: int) -> None:
        """Count one loss call's rows, new and seen before, into the block of ``step``."""
        seen, block = self.seen, self._block(step)
        size = len(seen)
        is_new: list[bool] | None = None
        if seen.isdisjoint(keys):  # every row new (the first pass), each once unless drawn twice into the batch
            seen.update(keys)
            fresh = len(seen) - size
            common = fresh == len(keys)
        elif seen.issuperset(keys):  # every row seen before (after the first pass)
            fresh, common = 0, True
        else:
            is_new = [key not in seen for key in keys]
            seen.update(keys)
            fresh, common = len(seen) - size, False
        if common and (not labels or min(labels) >= 0):
            # the common batches, all rows new or all seen before: counted at C speed
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
            self._count_rows(block, keys, labels, predicted, [fresh > 0] * len(keys) if is_new is None else is_new)
        block.calls += fresh > 0
        self.quiet = 0 if fresh else self.quiet + 1
        if self.quiet >= QUIET_CALLS:
            self.done = self.pass_over = True
        elif len(seen) >= MAX_ROWS:
            self.done = True
        if self.done:
            self.seen = set()
            self.input = None
            self._pending, self._pending_bytes = [], 0

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
        if self._blocks and self._blocks[-1].last == step:
            return self._blocks[-1]
        self._blocks.append(Block(step, step))
        if len(self._blocks) > BLOCKS:
            head, rest = self._blocks[0], self._blocks[1:]
            self._blocks = [head] + [rest[k].merged(rest[k + 1]) if k + 1 < len(rest) else rest[k]
                                    for k in range(0, len(rest), 2)]
        return self._blocks[-1]

    # -- what the rules read ----------------------------------------------------------------
    @property
    def blocks(self) -> list[Block]:
        """The counted training batches in order (the calls kept counted first)."""
        self.flush()
        return self._blocks

    def halves(self, since: int = 0) -> tuple[Block, Block] | None:
        """The rows seen for the first time from optimizer step ``since`` on, in two halves by rows (the earlier and the
        later steps of the first pass), each merged into one block; None when there are none, or no row was ever seen
        again (every row new: nothing to compare)."""
        blocks = [b for b in self.blocks if b.first >= since and b.new_rows]
        if len(blocks) < 2 or not any(b.old_rows for b in self.blocks if b.first >= since):
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

