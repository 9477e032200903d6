"""Rough edges a new user hit (issue 22): each is one clear line, on the right stream."""

from __future__ import annotations

import pytest

from tests.test_cli import assert_user_error, invoke


@pytest.mark.parametrize("name", ["last", "best"])
def test_a_checkpoint_file_given_as_a_run_is_named_so_everywhere(char_run, tmp_path, name):
    ckpt = char_run / "checkpoints" / f"{name}.npz"
    corpus = tmp_path / "more.txt"
    corpus.write_text("Speak, speak. " * 50, encoding="utf-8")
    said = set()
    for args in (["sample", ckpt], ["eval", ckpt], ["serve", ckpt, "--port", 0],
                 ["finetune", ckpt, corpus, "--out", tmp_path / "ft"], ["info", ckpt],
                 ["train", "--resume", ckpt]):
        result = invoke(*args)
        assert_user_error(result, f"{ckpt} is a checkpoint file, not a run directory; give "
                                  f"its run directory, {char_run}, and choose its "
                                  f"'{name}' checkpoint")
        said.add(result.stderr.strip())
    assert len(said) == 1, said  # the same words from every command
    assert not (tmp_path / "ft").exists()


def test_other_files_given_as_a_run(char_run, tmp_path):
    assert_user_error(invoke("sample", char_run / "config.json"),
                      f"is a file of a run, not a run directory; give its run directory, "
                      f"{char_run}")
    text = tmp_path / "poem.txt"
    text.write_text("spring", encoding="utf-8")
    assert_user_error(invoke("info", text), "poem.txt is a file, not a run directory")
