"""`--set` strings and config sections are read by one parser, for train and finetune alike."""

import pytest

from textgen.config import Config, apply_overrides, assignments, parse_assignment
from textgen.errors import ConfigError
from textgen.train.finetune import finetune_config


def _message(call) -> str:
    with pytest.raises(ConfigError) as info:
        call()
    return str(info.value)


def test_parse_assignment_splits_at_the_first_equals_sign():
    assert parse_assignment(" model.units =32") == ("model.units", "32")
    assert parse_assignment("data.user_dict=a=b.txt") == ("data.user_dict", "a=b.txt")
    with pytest.raises(ConfigError, match=r"--set expects section.key=value, got 'nonsense'"):
        parse_assignment("nonsense")


@pytest.mark.parametrize("item", ["nonsense", "model.unitz=3", "train.lr=fast"])
def test_train_and_finetune_refuse_a_bad_set_with_the_same_message(item):
    train = _message(lambda: apply_overrides(Config(), [item]))
    assert _message(lambda: finetune_config(Config(), None, [item])) == train


def test_finetune_reads_set_strings_like_train():
    cfg = finetune_config(Config(), None, [" train.epochs =3"])
    assert cfg.train.epochs == 3
    # The value keeps everything after the first "=".
    with pytest.raises(ConfigError, match="train.max_time must be a duration.*'1h=x'"):
        finetune_config(Config(), None, ["train.max_time=1h=x"])


def test_a_section_that_is_not_a_table_is_refused_alike():
    want = "p.toml: [train] must be a table of key = value"
    assert _message(lambda: Config.from_dict({"train": 3}, "p.toml")) == want
    assert _message(lambda: finetune_config(Config(), {"train": 3}, [], "p.toml")) == want


def test_assignments_refuse_an_unknown_section_before_its_keys():
    raw = {"model": {"units": 8}, "modle": {"units": 3}}
    items = assignments(raw, "f.toml", ["data", "model", "train"])
    assert next(items) == ("model.units", 8, "f.toml")
    with pytest.raises(ConfigError, match=r"unknown section \[modle\]; valid sections: data"):
        next(items)
