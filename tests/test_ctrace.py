"""The compiled call filter under the tracer (``netdoctor/observe/_ctrace.c``) against the pure-Python tracer.

The oracle is the pure-Python tracer itself (``NETDOCTOR_PURE_TRACER=1``):
the same program must hand the handlers the same events in the same order,
and ``netdoctor run`` must write the same report (minus its timings), with
either. The filter must also behave as ``sys.settrace`` does for the program
(``sys.gettrace()``, saving and restoring the trace function, threads, an
exception raised by a handler). CI sets ``NETDOCTOR_REQUIRE_CTRACE=1``, so a
build that silently failed to compile the filter fails here instead of
testing the fallback twice.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import netdoctor.observe.numpy.arrays  # noqa: F401 - tells C how NumPy lays out an array's head, as every run does
from netdoctor.observe import tracer as tracer_module
from netdoctor.observe.tracer import COMPILED, PURE_ENV, CallTracer, StopObserving

needs_filter = pytest.mark.skipif(not COMPILED, reason="the compiled call filter is not built here (pure-Python tracer only)")
PROGRAM = {"_leaf", "_raises", "_items", "_work", "_in_thread", "_program"}
"""The functions of the program below (its calls are what the tests compare)."""
KINDS = [pytest.param(True, id="compiled", marks=needs_filter), pytest.param(False, id="pure")]
TIMINGS = ("command", "seconds", "observer_seconds")
"""The report's context fields that differ between two runs of one program (its command line and its timings)."""


def test_the_compiled_filter_is_built_where_it_is_required():
    if os.environ.get("NETDOCTOR_REQUIRE_CTRACE", "") not in ("", "0"):
        assert COMPILED, "NETDOCTOR_REQUIRE_CTRACE is set but netdoctor.observe._ctrace was not built or not usable"


def _tracer(compiled: bool, monkeypatch, on_call, on_return, **kw) -> CallTracer:
    monkeypatch.setenv(PURE_ENV, "" if compiled else "1")
    tracer = CallTracer(on_call, on_return, is_user=lambda name: name == __file__, **kw)
    assert tracer.compiled is compiled
    return tracer


def _recording(calls: list[str]):
    """An ``on_call`` that lists the calls of the program's functions (the test's own lambdas are the user's too)."""
    return lambda f: (f.f_code.co_name in PROGRAM and calls.append(f.f_code.co_name)) is None


# -- a program with every kind of event ---------------------------------------------------------------------------
def _leaf(x):
    return x + 1


def _raises(x):
    if x % 7 == 0:
        raise ValueError(x)
    return _leaf(x)


def _items(n):
    for i in range(n):
        yield _leaf(i)


def _work(n):
    import json as js  # an import in the program's code: a library's calls, untraced

    total = 0
    for i in range(n):
        try:
            total += _raises(i)
        except ValueError:
            total -= 1
        total += sum(_leaf(v) for v in [i, i])  # a generator expression calling the program's function
        total += len(js.dumps([i]))  # a library function calling library functions
    for v in _items(5):
        total += v
    return total


def _in_thread(n, out):
    out.append(_work(n))


def _program(n: int) -> int:
    out: list[int] = []
    t = threading.Thread(target=_in_thread, args=(n, out))
    t.start()
    t.join()
    return _work(n) + out[0]


def _events(compiled: bool, monkeypatch) -> tuple[list[tuple], int]:
    """What the handlers hear of the program's functions (the test's own frames are adopted and heard of too)."""
    events: list[tuple] = []

    def on_call(frame):
        if frame.f_code.co_name not in PROGRAM:
            return False
        events.append(("call", frame.f_code.co_name, frame.f_lineno, threading.current_thread() is threading.main_thread()))
        return frame.f_code.co_name != "_leaf"  # declined returns: the filter must not hand them on either

    def on_tick(frame):
        if frame.f_code.co_name in PROGRAM:
            events.append(("tick", frame.f_code.co_name, frame.f_lineno))

    tracer = _tracer(compiled, monkeypatch, on_call, lambda f, v: events.append(("return", f.f_code.co_name, v)), on_tick=on_tick)
    tracer.install()
    try:
        result = _program(60)
    finally:
        tracer.uninstall()
    return events, result


def test_the_filter_hands_on_the_same_events_as_the_pure_tracer(monkeypatch):
    if not COMPILED:
        pytest.skip("the compiled call filter is not built here")
    compiled, result_c = _events(True, monkeypatch)
    pure, result_p = _events(False, monkeypatch)
    assert result_c == result_p == _program(60)
    assert compiled == pure
    assert PROGRAM == {e[1] for e in pure}  # the oracle saw every kind of call
    assert any(e[0] == "tick" for e in pure) and any(e[0] == "call" and not e[3] for e in pure)  # loops, the thread


@pytest.mark.parametrize("compiled", KINDS)
def test_ignored_code_is_skipped_by_this_tracer_only_and_heeded_again(compiled, monkeypatch):
    calls: list[str] = []
    tracer = _tracer(compiled, monkeypatch, _recording(calls), lambda f, v: None)
    other = _tracer(compiled, monkeypatch, lambda f: True, lambda f, v: None)
    tracer.ignore(_leaf.__code__)
    assert not tracer.user_code(_leaf.__code__) and other.user_code(_leaf.__code__)  # marks are per tracer
    tracer.install()
    try:
        _raises(1)
        tracer.heed(_leaf.__code__)
        _raises(2)
    finally:
        tracer.uninstall()
    assert calls == ["_raises", "_raises", "_leaf"]


def _loops(n: int) -> int:
    total = 0
    for i in range(n):  # the outer head
        total += _leaf(i)
        for j in range(3):  # an inner head, 4 ticks per outer iteration
            total += j
    return total


def _held_events(compiled: bool, monkeypatch, mute: bool) -> list[tuple]:
    """Calls and ticks heard from ``_loops(8)``, followed from its call: ``_leaf`` held from the 3rd call heard on (the
    inner head muted while held, if ``mute``), released at the 3rd outer tick heard while held."""
    events: list[tuple] = []
    outer, inner = _loops.__code__.co_firstlineno + 2, _loops.__code__.co_firstlineno + 4

    def on_call(frame):
        if frame.f_code.co_name in PROGRAM:
            events.append(("call", frame.f_code.co_name, tracer.holding))
        if frame.f_code is _loops.__code__:
            tracer.follow(frame)
        return frame.f_code.co_name in PROGRAM

    def on_tick(frame):
        events.append(("tick", frame.f_lineno, tracer.holding))
        if not tracer.holding and events.count(("call", "_leaf", False)) == 3 and not any(e[-1] for e in events):
            tracer.hold([_leaf.__code__])
            if mute:
                tracer.mute({(id(_loops.__code__), inner)})
        elif tracer.holding and events.count(("tick", outer, True)) == 3:
            tracer.release()

    PROGRAM.add("_loops")
    try:
        tracer = _tracer(compiled, monkeypatch, on_call, lambda f, v: None, on_tick=on_tick)
        tracer.install()
        try:
            assert _loops(8) == sum(i + 1 + 3 for i in range(8))
        finally:
            tracer.uninstall()
    finally:
        PROGRAM.discard("_loops")
    return events


@pytest.mark.parametrize("compiled", KINDS)
@pytest.mark.parametrize("mute", [False, True], ids=["all-heads", "muted"])
def test_held_code_runs_untraced_and_its_caller_keeps_ticking_until_released(compiled, mute, monkeypatch):
    """The update windows only counted: a held function's calls are not heard, its caller's loop heads still tick at
    every iteration (an update applied there is seen), muted heads only while held; released, calls are heard again."""
    events = _held_events(compiled, monkeypatch, mute)
    outer, inner = _loops.__code__.co_firstlineno + 2, _loops.__code__.co_firstlineno + 4
    held = [e for e in events if e[-1]]
    assert ("call", "_leaf", True) not in events  # never heard while held
    assert [e for e in held if e[:2] == ("tick", outer)] == [("tick", outer, True)] * 3  # each held iteration's head
    assert bool([e for e in held if e[:2] == ("tick", inner)]) is not mute  # 4 ticks per iteration, or muted
    calls = [i for i, e in enumerate(events) if e[:2] == ("call", "_leaf")]
    first, last = events.index(held[0]), events.index(held[-1])
    assert len([i for i in calls if i < first]) == 3 and [i for i in calls if i > last]  # heard before and after


@needs_filter
def test_the_filter_and_the_pure_tracer_hold_and_mute_alike(monkeypatch):
    for mute in (False, True):
        assert _held_events(True, monkeypatch, mute) == _held_events(False, monkeypatch, mute)


class _Net:
    """A network whose attribute lookups run the program's code: the filter must never call them."""

    looked_up = 0

    def __init__(self, W, b):
        self.layers = [W, b]
        self.seen: list[list] = []

    def __getattr__(self, name):
        _Net.looked_up += 1
        raise AttributeError(name)


def _apply(net, W, b):
    """The function that applies an update (a ``through`` of CallFilter.count): re-binds both parameters."""
    net.layers = [W + 0.5, b - 0.25]


def _stepping(net, actions):
    for act in actions:  # the update head
        W, b = net.layers
        if act == "apply":
            _apply(net, W, b)
        elif act == "step":
            W += 0.5
            b -= 0.25
        elif act == "one":
            W += 0.5
        elif act == "rebind":
            net.layers[0] = W + 0.5
            b -= 0.25
        elif act == "rebind same":  # re-bound, not moved: counted in C as Python counts it (the array is another)
            net.layers[0] = W.copy()
            b -= 0.25
        elif act == "reshape":  # re-bound with another layout: Python decides
            net.layers[0] = (W + 0.5).T.copy().T
            b -= 0.25
        elif act == "float32":
            net.layers[0] = (W + 0.5).astype(np.float32)
            b -= 0.25
        elif act == "nan":
            W[0, 0] = np.nan
            b -= 0.25
        net.seen.append(list(net.layers))
    return len(actions)


_IDX = (np.array([0, 3, 5, 7, 11]), np.array([0, 2, 4]))
"""Each parameter's fingerprint entries (flat positions); the quick ones are its 1st, 3rd and 5th (last) entries."""


def _plan(net) -> list[tuple]:
    plan = []
    for p, (a, idx) in enumerate(zip(net.layers, _IDX)):
        offsets = tuple(int(o) for o in np.stack(np.unravel_index(idx, a.shape), axis=1) @ np.array(a.strides))
        quick = (0, 1, len(idx) - 1)
        plan.append((net, ((1, "layers"), (0, p)), a, a.__array_interface__["data"][0], offsets, quick, a.itemsize))
    return plan


def _fp_bytes(net) -> list[bytes]:
    return [a.ravel()[idx].tobytes() for a, idx in zip(net.layers, _IDX)]


def _counted_ticks(actions, limit, monkeypatch, through=()):
    """Run ``_stepping`` on ``actions`` with updates counted in C from every tick heard: the ticks heard, the
    hand-overs (tick, n, states, fingerprints, arrays, passed, trailing) and the calls of ``_apply`` heard."""
    W0, b0 = np.arange(16.0).reshape(4, 4), np.zeros(5)
    heard: list[int] = []
    applied: list[int] = []
    counted: list[tuple] = []
    at = [0]
    net = _Net(W0.copy(), b0.copy())

    def on_tick(frame):
        heard.append(at[0])
        at[0] += 1
        assert tracer.count(frame, _plan(net), limit, keep_states=True, on_counted=on_counted, through=through)

    def on_counted(n, states, fps, arrays, passed, trailing):
        if n:  # the arrays bound at the last update counted (tick t sees the arrays left by the t-th action)
            assert all(a is b for a, b in zip(arrays, net.seen[at[0] + n - 2]))
        counted.append((at[0], n, states, fps, passed, trailing))
        at[0] += n

    def on_call(frame):
        if frame.f_code is _stepping.__code__:
            tracer.follow(frame)
        elif frame.f_code is _apply.__code__:
            applied.append(at[0])
        return True

    tracer = _tracer(True, monkeypatch, on_call, lambda f, v: None, on_tick=on_tick)
    tracer.install()
    try:
        assert _stepping(net, actions) == len(actions)
    finally:
        tracer.uninstall()
    assert tracer.failed is None and _Net.looked_up == 0
    return W0, b0, heard, counted, applied


def _expected_ticks(W0, b0, actions, limit, through=False):
    """The oracle: the actions replayed on copies, tick by tick (tick t sees actions[:t] done; tick 0 is the loop's
    entry). A tick is counted in C when every array is the same object, or one re-bound in its place with the same
    dtype, shape and strides, a quick entry moved (as a float: a NaN never equals itself; a re-bound array's identity
    moved) and every fingerprint moved (its bytes, or its identity). With ``through``, a call of ``_apply`` ends in C
    unless a quick entry moved since the tick before it (a NaN always has): heard, it ends the count, and the next
    tick is heard. A tick whose quick entries are not all finite is heard (the observer's light look names the first
    non-finite weights at their update)."""
    replay = _Net(W0.copy(), b0.copy())
    states, fingerprints, expected_heard, run = {}, {}, [0], 0
    for t, act in enumerate(actions, 1):
        arrays, before = list(replay.layers), _fp_bytes(replay)
        call_heard = through and act == "apply" and any(np.isnan(a.ravel()[idx[[0, 1, -1]]]).any()
                                                        for a, idx in zip(arrays, _IDX))
        _stepping(replay, [act])
        after = _fp_bytes(replay)
        same = [a is b for a, b in zip(arrays, replay.layers)]
        laid = all(a.dtype == b.dtype and a.shape == b.shape and a.strides == b.strides
                   for a, b in zip(arrays, replay.layers))
        quick = laid and (not all(same) or any(
            float(x) != float(y) for a, bb, ab in zip(arrays, before, after)
            for x, y in zip(np.frombuffer(bb, a.dtype)[[0, 1, -1]], np.frombuffer(ab, a.dtype)[[0, 1, -1]])))
        # a quick entry gone NaN or Inf: the observer hears that update (it names the first non-finite weights)
        finite = all(np.isfinite(np.frombuffer(ab, a.dtype)[[0, 1, -1]]).all() for a, ab in zip(replay.layers, after))
        if (not call_heard and quick and finite and all(not s or x != y for s, x, y in zip(same, before, after))
                and run < limit):
            run += 1
            states[t], fingerprints[t] = hash(b"".join(after)), after
        else:
            run = 0
            expected_heard.append(t)
    return states, fingerprints, expected_heard


_ACTIONS = (["step"] * 7 + ["none"] + ["step"] * 4 + ["one"] + ["step"] * 2
            + ["rebind", "step", "rebind same", "step", "reshape", "step", "float32", "step", "nan", "step", "step"])


@needs_filter
@pytest.mark.parametrize("limit", [1, 3, 100])
def test_the_filter_counts_updates_at_a_loop_head_as_the_handlers_would_decide_them(limit, monkeypatch):
    """CallFilter.count: ticks at which every parameter is bound to the same array (or to one re-bound in its place,
    laid out alike) and moved are counted in C (at most ``limit`` in a row), any other tick reaches the handler,
    after the counted ones were handed over with each update's fingerprint hash, the last fingerprints and the
    arrays; the program's ``__getattr__`` never runs."""
    W0, b0, heard, counted, _ = _counted_ticks(_ACTIONS, limit, monkeypatch)
    states, fingerprints, expected_heard = _expected_ticks(W0, b0, _ACTIONS, limit)
    assert heard == expected_heard
    assert {t0 + k: h for t0, n, st, *_ in counted for k, h in enumerate(st)} == states
    assert sum(n for _, n, *_ in counted) == len(states) == len(_ACTIONS) + 1 - len(heard)
    for t0, n, _, fps, passed, trailing in counted:
        assert fps == fingerprints[t0 + n - 1]
        assert passed == trailing == 0


@needs_filter
@pytest.mark.parametrize("limit", [2, 100])
def test_the_function_applying_updates_ends_in_c_while_counting(limit, monkeypatch):
    """CallFilter.count's ``through``: the counting frame's calls of ``_apply`` (which re-binds every parameter) end
    in C while nothing moved since the last tick; the hand-over says how many did, and how many after the last update
    counted. A call after a step applied inline (``step`` then ``apply`` in one iteration is not possible here: a
    ``nan`` tick reaches Python) is heard."""
    actions = ["apply"] * 6 + ["none"] + ["apply"] * 3 + ["nan"] + ["apply"] * 4
    W0, b0, heard, counted, applied = _counted_ticks(actions, limit, monkeypatch, through=(_apply.__code__,))
    states, _, expected_heard = _expected_ticks(W0, b0, actions, limit, through=True)
    assert heard == expected_heard
    assert sum(n for _, n, *_ in counted) == len(states)
    # every call of _apply is heard or passed, and heard only once the NaN makes a quick entry move at every look
    assert len(applied) + sum(c[4] for c in counted) == actions.count("apply")
    assert len(applied) == 4
    assert all(trailing in (0, 1) and passed >= trailing for *_, passed, trailing in counted)
    _, _, heard_without, _, applied_without = _counted_ticks(actions, limit, monkeypatch)
    assert len(applied_without) == actions.count("apply")  # without `through`, each call is heard


@pytest.mark.parametrize("compiled", KINDS)
def test_the_program_sees_the_tracer_as_its_trace_function_and_can_restore_it(compiled, monkeypatch):
    """Code that saves the trace function and puts it back (``torch.compile`` does) must leave the program traced."""
    calls: list[str] = []
    tracer = _tracer(compiled, monkeypatch, _recording(calls), lambda f, v: None)
    tracer.install()
    try:
        seen = sys.gettrace()
        sys.settrace(None)
        _leaf(1)  # untraced
        sys.settrace(seen)
        _leaf(2)
        _leaf(3)
        after = sys.gettrace()
    finally:
        tracer.uninstall()
    assert seen is tracer._trace and after is tracer._trace and tracer.tracing() is False
    assert calls.count("_leaf") == 2


@pytest.mark.parametrize("compiled", KINDS)
def test_a_stop_raised_by_a_handler_ends_the_program_and_its_tracing(compiled, monkeypatch):
    def on_call(frame):
        if frame.f_code.co_name == "_raises":
            raise StopObserving("enough")
        return True

    tracer = _tracer(compiled, monkeypatch, on_call, lambda f, v: None)
    tracer.install()
    try:
        with pytest.raises(StopObserving, match="enough"):
            _work(3)
        assert sys.gettrace() is None  # as under sys.settrace: the exception took the trace function with it
    finally:
        tracer.uninstall()


@pytest.mark.parametrize("compiled", KINDS)
def test_an_error_of_the_observers_own_stops_observing_and_the_program_runs_on(compiled, monkeypatch):
    """Our bug must never become the program's: the program's result is what it is without us, the error is kept,
    and the trace function that was there before (here none, or a debugger's) is back."""
    calls: list[str] = []

    def on_call(frame):
        if frame.f_code.co_name == "_raises" and len(calls) > 3:
            raise RuntimeError("the observer's own bug")
        if frame.f_code.co_name in PROGRAM:
            calls.append(frame.f_code.co_name)
        return True

    tracer = _tracer(compiled, monkeypatch, on_call, lambda f, v: None)
    tracer.install()
    try:
        result = _work(30)
        after = sys.gettrace()
    finally:
        tracer.uninstall()
    assert result == _work(30)
    assert isinstance(tracer.failed, RuntimeError) and after is None
    assert len(calls) == 4  # nothing was heard after the error


def test_the_pure_tracer_is_chosen_by_the_environment_variable(monkeypatch):
    monkeypatch.setenv(PURE_ENV, "1")
    assert not CallTracer(lambda f: True, lambda f, v: None).compiled
    monkeypatch.setenv(PURE_ENV, "0")
    assert CallTracer(lambda f: True, lambda f, v: None).compiled is COMPILED
    assert tracer_module._use_compiled() is COMPILED


# -- whole programs under `netdoctor run`, both ways ---------------------------------------------------------------
PROGRAMS = Path(__file__).resolve().parent / "numpy_programs"
# Programs whose report is the same from run to run (layer_inputs_stale's count of samples trained is not: it differs
# between two runs of the pure tracer, 152 to 229, so it cannot tell the tracers apart)
RUN_BOTH = [
    "textbook_inline",  # updates inline in a train() method, per sample
    "smoothed_codes_mutated",  # a thread, per-sample column vectors, a code table mutated in place (findings)
    "late_cache_dict_sign",  # a module-level loop, a forward's dict filled late, one layer stepped up its gradient
    "global_grads_stale",  # a second dict of gradients in module globals, never emptied (findings)
    "layer_objects",  # layer objects with buffers
    "inline_main",  # main() rebinding its local weights inline, calling no function of the program
]


def _run(name: str, compiled: bool, tmp: Path) -> tuple[int, str, dict]:
    out = tmp / f"{name}-{'compiled' if compiled else 'pure'}.json"
    env = dict(os.environ, NO_COLOR="1", COLUMNS="100", **{PURE_ENV: "" if compiled else "1"})
    proc = subprocess.run([sys.executable, "-m", "netdoctor.cli", "run", "--json", str(out), str(PROGRAMS / f"{name}.py")],
                          capture_output=True, text=True, env=env, cwd=tmp, timeout=300)
    report = json.loads(out.read_text()) if out.exists() else {}
    context = report.get("context", {})
    for key in TIMINGS:
        context.pop(key, None)
    context["notes"] = [re.sub(r"\d+\.\d+ s\b", "- s", note) for note in context.get("notes", [])]  # the update check's time
    return proc.returncode, proc.stdout.partition(" netdoctor run ")[0], report  # the program's own output


@needs_filter
def test_netdoctor_run_reports_the_same_with_the_filter_and_without(tmp_path):
    with ThreadPoolExecutor(2) as pool:
        runs = {(name, compiled): pool.submit(_run, name, compiled, tmp_path) for name in RUN_BOTH for compiled in (True, False)}
        results = {key: future.result() for key, future in runs.items()}
    for name in RUN_BOTH:
        code_c, stdout_c, report_c = results[name, True]
        code_p, stdout_p, report_p = results[name, False]
        assert report_p.get("context", {}).get("updates_observed"), name  # the oracle run really watched
        assert (code_c, stdout_c) == (code_p, stdout_p), name
        assert report_c == report_p, name


# -- a held step's own callees ------------------------------------------------------------------------------------
def _act(x):
    return x * 2


def _layer(x):
    return _act(x) + 1  # a layer's forward calling its activation: beneath the held forward


def _forward(x):
    return _layer(_layer(x))


def _backward(x):
    return _act(x)  # the gradient function whose calls alone are heard (listen): its callees are not


def _trains(n):
    total = 0
    for i in range(n):  # the update head
        total += _forward(i) + _backward(i) + _act(i)  # the last _act: called by the loop itself
    return total


def _quiet_events(compiled: bool, monkeypatch) -> list[tuple]:
    """Calls heard from ``_trains(6)``: ``_forward`` held and ``_backward`` listened to from the 2nd iteration on,
    ``_layer`` and ``_act`` quiet beneath them, released at the 5th tick."""
    events: list[tuple] = []
    names = {"_act", "_layer", "_forward", "_backward", "_trains"}

    def on_call(frame):
        name = frame.f_code.co_name
        if name in names:
            events.append(("call", name, frame.f_back.f_code.co_name, tracer.holding))
        if frame.f_code is _trains.__code__:
            tracer.follow(frame)
        return name in names and frame.f_code is not _backward.__code__  # (a listened function: its call alone)

    def on_tick(frame):
        ticks = sum(1 for e in events if e[0] == "tick")
        events.append(("tick", ticks, tracer.holding))
        if ticks == 1:
            tracer.hold([_forward.__code__], listen=_backward.__code__, quiet=[_act.__code__, _layer.__code__])
        elif ticks == 4:
            tracer.release()

    tracer = _tracer(compiled, monkeypatch, on_call, lambda f, v: None, on_tick=on_tick)
    tracer.install()
    try:
        assert _trains(6) == sum(4 * i + 3 + 2 * i + 2 * i for i in range(6))
    finally:
        tracer.uninstall()
    return events


@pytest.mark.parametrize("compiled", KINDS)
def test_the_quiet_functions_of_a_held_step_are_not_heard_beneath_it(compiled, monkeypatch):
    """While a step is held, a function of it that has no role (a layer's forward, an activation) is not heard beneath
    the held forward or the listened gradient function, as the held forward itself is not; called by the loop itself
    it is heard, and everything is heard again once released."""
    events = _quiet_events(compiled, monkeypatch)
    held = [e for e in events if e[0] == "call" and e[-1]]
    assert held, events
    assert {e[1:3] for e in held} == {("_backward", "_trains"), ("_act", "_trains")}  # nothing beneath the held step
    before = [e for e in events if e[0] == "call" and not e[-1]]
    assert ("_act", "_layer") in {e[1:3] for e in before} and ("_act", "_backward") in {e[1:3] for e in before}
    last_tick = max(i for i, e in enumerate(events) if e[0] == "tick" and e[-1])
    after = {e[1:3] for e in events[last_tick:] if e[0] == "call"}
    assert ("_layer", "_forward") in after and ("_act", "_layer") in after  # released: heard again


@needs_filter
def test_the_filter_and_the_pure_tracer_keep_a_held_step_s_callees_quiet_alike(monkeypatch):
    assert _quiet_events(True, monkeypatch) == _quiet_events(False, monkeypatch)
