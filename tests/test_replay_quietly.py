"""The replay's ``quietly()``: the replaying thread is silenced, the program's other threads are not."""

from __future__ import annotations

import os
import random
import sys
import threading

import numpy as np

from netdoctor.observe.numpy.replay import quietly


def _print_from_another_thread(text: str) -> None:
    t = threading.Thread(target=print, args=(text,))
    t.start()
    t.join()


def test_the_replaying_threads_prints_are_dropped_and_every_other_threads_go_through(capsys):
    with quietly():
        print("from the replay")
        print("from the replay, to stderr", file=sys.stderr)
        _print_from_another_thread("from the program's other thread")
    out, err = capsys.readouterr()
    assert "from the program's other thread" in out
    assert "from the replay" not in out and "from the replay" not in err


def test_the_streams_and_the_random_states_are_put_back():
    before_out, before_err = sys.stdout, sys.stderr
    np_state, py_state = np.random.get_state()[1].copy(), random.getstate()
    with quietly():
        np.random.rand(3)
        random.random()
    assert sys.stdout is before_out and sys.stderr is before_err
    assert np.array_equal(np.random.get_state()[1], np_state) and random.getstate() == py_state


def test_a_stream_the_program_rebinds_meanwhile_is_kept(capsys):
    mine = sys.stdout
    replacement = open(os.devnull, "w")
    try:
        with quietly():
            sys.stdout = replacement  # another thread of the program, say
        assert sys.stdout is replacement
    finally:
        sys.stdout = mine
        replacement.close()


def test_a_missing_stream_stays_silent_for_every_thread(monkeypatch):
    monkeypatch.setattr(sys, "stdout", None)
    with quietly():
        _print_from_another_thread("nowhere")  # print() to a None stream drops it, as without netdoctor
