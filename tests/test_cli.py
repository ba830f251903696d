"""The helpers every program in scripts/ shares."""

import argparse

import pytest

from dimred_flow.cli import key_value


def test_key_value_converts_both_sides():
    assert key_value(int, str)("3=abc") == (3, "abc")
    assert key_value(int, int)("2=12345") == (2, 12345)
    assert key_value()("umap/1=results/a=b.npy") == ("umap/1", "results/a=b.npy")


@pytest.mark.parametrize("text", ["3", "x=1", "3=y"])
def test_key_value_rejects_a_malformed_argument_as_a_usage_error(text):
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--seeds", nargs="+", type=key_value(int, int))
    with pytest.raises(argparse.ArgumentError, match=text):
        parser.parse_args(["--seeds", text])
