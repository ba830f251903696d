"""Unit tests of the write-then-rename used by every output."""

import pytest

from dimred_flow.atomic import replaced_atomically


def test_the_file_appears_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "sub" / "table.parquet"
    with replaced_atomically(target) as partial:
        assert partial.name == "table.partial.parquet" and partial.parent.is_dir()
        partial.write_text("new")
        assert not target.exists()
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["table.parquet"]


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_partial(tmp_path):
    target = tmp_path / "plot.png"
    target.write_text("old")
    with pytest.raises(RuntimeError), replaced_atomically(target) as partial:
        partial.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]
