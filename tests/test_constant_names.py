"""Array constants in pictures, explanations and replays are named after the caller's variables."""

import gc
import re
import sys
import weakref
from importlib import import_module

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.explain import CallerNames, GraphNames, caller_names

MODULE_DATA = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
_HIDDEN = np.array([[1.0, 2.0]])


def _W():
    return ag.Value(np.array([[0.5], [-1.0]]), "W")


def _constants(source):
    """The names of the constant nodes of a DOT source, in order."""
    return re.findall(r'label="([^":]+): constant', source)


def test_constant_names_a_local_array_is_named_in_the_picture_and_explanation():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    W = _W()
    L = (X @ W).sum()
    assert _constants(ag.draw(L).source) == ["X"]
    text = str(ag.explain(L, W))
    assert "v1 = X @ W" in text and "Xᵀ @ (·)" in text and "c1" not in text
    # the shape sits next to the name in the picture
    assert 'label="X: constant (2, 2) float64' in ag.draw(L).source


def test_constant_names_a_module_level_array_is_named():
    W = _W()
    L = (MODULE_DATA @ W).sum()
    assert _constants(ag.draw(L).source) == ["MODULE_DATA"]
    assert "MODULE_DATA @ W" in str(ag.explain(L, W))


def test_constant_names_locals_come_before_globals_and_the_first_name_wins():
    MODULE_DATA_ALIAS = first = MODULE_DATA  # noqa: F841 -- both name the module's array
    W = _W()
    L = (MODULE_DATA @ W).sum()
    assert _constants(ag.draw(L).source) == ["MODULE_DATA_ALIAS"]  # a local, first in order
    second = X = np.ones((2, 2))  # noqa: F841
    assert _constants(ag.draw((X @ W).sum()).source) == ["second"]


def test_constant_names_an_array_no_variable_holds_is_c1():
    W = _W()
    L = (np.ones((3, 2)) @ W + np.zeros((3, 1))).sum()
    assert _constants(ag.draw(L).source) == ["c1", "c2"]
    assert _constants(ag.draw((_HIDDEN @ W).sum()).source) == ["c1"]  # _names are skipped


def test_constant_names_given_constants_win_and_an_empty_mapping_turns_the_search_off():
    X = np.array([[1.0, 2.0]])
    W = _W()
    L = (X @ W).sum()
    assert _constants(ag.draw(L, constants={"batch": X}).source) == ["batch"]
    assert "batch @ W" in str(ag.explain(L, W, constants={"batch": X}))
    assert _constants(ag.draw(L, constants={}).source) == ["c1"]


def test_constant_names_match_by_identity_not_equality():
    X = np.array([[1.0, 2.0]])
    Y = X.copy()  # equal, another object
    W = _W()
    L = (Y @ W).sum()
    assert np.array_equal(X, Y)
    assert _constants(ag.draw(L).source) == ["Y"]
    del Y
    assert _constants(ag.draw(L).source) == ["c1"]  # X is equal to it, but not it


def test_constant_names_converted_arrays_are_not_misnamed():
    W = _W()
    ints = np.array([[1, 2], [3, 4]])  # the engine turns integers into floats: a new array
    rows = [[1.0, 2.0]]  # a list becomes an array
    L = (ints @ W).sum() + (rows @ W).sum()
    assert _constants(ag.draw(L).source) == ["c1", "c2"]
    assert "ints" not in str(ag.explain(L, W))


def test_constant_names_a_name_a_value_label_uses_is_not_taken():
    W = _W()
    x = np.array([[1.0, 2.0]])
    y = ag.Value(np.ones((1, 1)), "x")  # a Value labelled x: the array x would read the same
    assert _constants(ag.draw((x @ W + y).sum()).source) == ["c1"]
    assert _constants(ag.draw((x @ W + y).sum(), constants={"x": x}).source) == ["x"]


def test_constant_names_replay_names_the_callers_arrays():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    W = _W()
    L = (X @ W).sum()
    r = ag.replay(L)
    assert r.names(X) == "X" and "X: constant (2, 2) float64" in r.html
    assert ag.replay(L, constants={"data": X}).names(X) == "data"


def test_constant_names_an_nn_batch_is_named():
    mlp = ag.nn.MLP([2, 3, 1], seed=0)
    batch = np.array([[0.5, -1.0], [2.0, 1.0]])
    L = mlp(batch).sum()
    assert _constants(ag.draw(L).source) == ["batch"]


def test_constant_names_caller_names_keeps_no_frame_alive():
    def make():
        data = np.ones((2, 2))
        return caller_names(0), weakref.ref(data)  # depth 0: make's own variables

    gc.disable()  # what is freed below is freed by reference counting alone
    try:
        names, witness = make()
        assert isinstance(names, CallerNames) and names["data"] is witness()
        assert [r for r in gc.get_referrers(witness()) if r is not names] == []
        del names
        assert witness() is None  # no frame (and no cycle through one) kept it

        def draw_one():
            X = np.ones((1, 2))
            picture = ag.draw((X @ _W()).sum())
            assert _constants(picture.source) == ["X"]
            return weakref.ref(X), weakref.ref(picture)

        witness, picture = draw_one()
        assert witness() is None and picture() is None  # the caller's frame went with it
    finally:
        gc.enable()


def test_constant_names_the_frame_is_searched_once_per_call(monkeypatch):
    calls = []

    class CountingSys:
        @staticmethod
        def _getframe(depth=0):
            calls.append(depth)
            return sys._getframe(depth + 1)

    X = np.array([[1.0, 2.0]])
    W = _W()
    L = (X @ W).sum()
    monkeypatch.setattr(import_module("autograd_lite.explain"), "sys", CountingSys)
    assert _constants(ag.draw(L, wrt=W).source) == ["X"]
    assert "X @ W" in str(ag.explain(L, W))
    page = ag.replay(L, W)
    assert page.names(X) == "X" and "X: constant" in page.html
    assert calls == [2, 2, 2]  # draw, explain, replay (whose picture reuses its names)
    ag.draw(L, constants={"X": X})
    assert calls == [2, 2, 2]  # names given: no search


def test_constant_names_graph_names_by_hand():
    X = np.ones((1, 2))
    W = _W()
    names = GraphNames((X @ W).sum(), {"data": X})
    assert names(X) == "data" and names(np.ones((1, 2))) == "c1"
    for bad in (3, [X], "X"):
        with pytest.raises(TypeError, match=r"constants must be a mapping from name to "
                                            r"array or number, got "):
            ag.draw((X @ W).sum(), constants=bad)
