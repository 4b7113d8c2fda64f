"""How many BLAS threads netdoctor's own matrix products use, and giving them back.

A multi-threaded BLAS splits each product between threads and waits for the
slowest. The products of small networks and of gradient checks take tens of
microseconds; when another process holds a core, the second thread waits a
scheduler time slice (milliseconds) for it, so two threads lose up to an order
of magnitude on a busy machine (a laptop running a browser): ``netdoctor
check`` on 60,000 rows took 14 s with OpenBLAS's two threads against 1.4 s with
one. On an idle machine the second thread gains at most 2x on a 2-core
machine, and only on products large enough to split.

So netdoctor picks the count for the work at hand (:func:`threads_for`): one
thread when every product of a training step is below :data:`SMALL_PRODUCT`
multiply-adds (every MLP up to 784-512-512-10 at batch 100 is, and so is every
gradient check), else the caller's setting untouched. A diagnosis
(``diagnose``, ``netdoctor check``) runs on one thread whatever its sizes: it
is netdoctor's own work, and must not take a second core from whatever else the
machine is running. :func:`blas_threads` applies a count for a block and restores the caller's counts on the way out,
normally or by an exception; the user's code outside the block never runs
with our setting.

For ``netdoctor run`` (the user's program runs unmodified): wrap netdoctor's
own computations, never the user's code, in the context manager::

    from netdoctor.nn.threads import blas_threads

    with blas_threads(1):
        ...  # netdoctor's probes, gradient checks, statistics

It limits the BLAS pools that ``threadpoolctl`` finds (OpenBLAS, MKL, BLIS;
OpenMP pools are left alone; without threadpoolctl they keep their setting)
and the intra-op threads of a torch the process has already imported.
The caller's own thread settings (``OPENBLAS_NUM_THREADS``, an outer
``threadpool_limits``, ``torch.set_num_threads``) are read when the block is
entered and put back as they were when it is left.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

__all__ = ["SMALL_PRODUCT", "blas_threads", "one_blas_thread", "threads_for", "threads_for_model", "norm_one_thread", "dot_one_thread"]

SMALL_PRODUCT = 1 << 28
"""Multiply-adds (268 M, about 10 ms on one core) below which a product stays on one thread.

A product this large outlasts a scheduler time slice many times over, so a
second thread that has to share its core with another process costs little,
and on an idle core it halves the time."""

_controller = None


def _threadpool_controller():
    """One ``threadpoolctl.ThreadpoolController`` (finding the libraries costs ~20 ms), or None."""
    global _controller
    if _controller is None:
        # threadpoolctl's import sets KMP_DUPLICATE_LIB_OK in os.environ: a program observed by netdoctor run would
        # find it there, so it goes again once the libraries are found (unless it was set before)
        had = "KMP_DUPLICATE_LIB_OK" in os.environ
        try:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        except ImportError:  # an optional speed-up: without it the caller's setting stays
            return None
        finally:
            if not had:
                os.environ.pop("KMP_DUPLICATE_LIB_OK", None)
    return _controller


def threads_for(shapes: Iterable[tuple[int, ...]], rows: int) -> int | None:
    """The BLAS threads for products of ``rows`` rows with matrices of ``shapes``.

    Args:
        shapes: shapes of the weight matrices (``(D_in, D_out)``; other
            ranks are ignored).
        rows: rows per product (the batch size).

    Returns:
        1 when every ``rows x D_in x D_out`` is below :data:`SMALL_PRODUCT`,
        else None (keep the caller's setting).
    """
    largest = max((rows * s[0] * s[1] for s in shapes if len(s) == 2), default=0)
    return 1 if largest < SMALL_PRODUCT else None


def threads_for_model(model: Any, batch_size: int) -> int | None:
    """:func:`threads_for` the 2-D arrays in ``model.params`` (a dict) at ``batch_size`` rows.

    A model without such a dict gets 1: netdoctor only probes it with small batches.
    """
    params = getattr(model, "params", None)
    if not isinstance(params, Mapping):
        return 1
    return threads_for((np.shape(v) for v in params.values()), batch_size)


@contextlib.contextmanager
def blas_threads(n: int | None = 1) -> Iterator[None]:
    """Limit the BLAS thread pools to ``n`` threads for the block, then restore them.

    Args:
        n: threads inside the block; None leaves every pool as it is.

    The previous count of every pool is restored when the block ends, also
    when it ends by an exception (``threadpoolctl`` records and sets them
    back). Without threadpoolctl this does nothing.
    """
    if n is None:
        yield
        return
    controller = _threadpool_controller()
    with contextlib.ExitStack() as stack:
        if controller is not None:
            stack.enter_context(controller.limit(limits=n, user_api="blas"))
        _limit_torch(n, stack)
        yield


def _limit_torch(n: int, stack: contextlib.ExitStack) -> None:
    """An already imported torch's intra-op threads (its own OpenMP pool, which threadpoolctl's BLAS limit misses)
    set to ``n`` until ``stack`` closes; netdoctor never imports torch for this.

    PyTorch's pool spins and waits like a BLAS's: 300 steps of a 784-64-10
    module at batch 32 took 11-34 s on two threads against 0.5 s on one beside
    other busy processes (load average 18 on 2 cores), so ``check --model``
    on a PyTorch module collapsed where the reference MLP did not.
    """
    torch = sys.modules.get("torch")
    get, put = getattr(torch, "get_num_threads", None), getattr(torch, "set_num_threads", None)
    if not (callable(get) and callable(put)):
        return
    previous = get()
    if previous != n:
        put(n)
        stack.callback(put, previous)


def norm_one_thread(a: np.ndarray) -> float:
    """The Frobenius norm of ``a`` without BLAS: on the calling thread only, whatever the BLAS's thread count.

    ``np.linalg.norm`` calls BLAS (``dot``/``nrm2``), which splits large arrays
    between the BLAS's threads; inside ``netdoctor run`` that puts the
    observer's work on cores the program did not ask for, and on a busy
    machine each call waits a scheduler slice for the second thread (37 ms
    instead of 10 us for a 784x30 array at load 7 on 2 cores). ``einsum``
    without ``optimize`` sums in its own loop.
    """
    flat = np.ravel(a)
    if flat.dtype.kind == "c":
        flat = np.abs(flat)
    return float(np.sqrt(dot_one_thread(flat, flat)))


def dot_one_thread(a: np.ndarray, b: np.ndarray) -> float:
    """``sum(a * b)`` of two flat real arrays of one length in one pass, with no temporary and without BLAS (see
    :func:`norm_one_thread`: ``np.dot`` hands large arrays to the BLAS's threads)."""
    return float(np.einsum("i,i->", a, b))


_blas_pools: list[Any] | None = None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """One BLAS thread for a short block of netdoctor's own products inside the user's running program.

    :func:`blas_threads` re-reads every pool's state on entry (tens of microseconds); this keeps the BLAS
    pools found once and only reads and sets their counts (a few microseconds), so it can guard a product
    that ``netdoctor run``'s observer computes while the program runs. The program's counts are put back
    on the way out; without threadpoolctl, or with one thread already, it does nothing.
    """
    global _blas_pools
    if _blas_pools is None:
        controller = _threadpool_controller()
        _blas_pools = [] if controller is None else [c for c in controller.lib_controllers if c.user_api == "blas"]
    saved = [(pool, pool.get_num_threads()) for pool in _blas_pools]
    changed = [(pool, n) for pool, n in saved if n is not None and n > 1]
    for pool, _ in changed:
        pool.set_num_threads(1)
    try:
        yield
    finally:
        for pool, n in changed:
            pool.set_num_threads(n)
