from pathlib import Path

import pytest

from textgen.config import Config, apply_overrides, valid_keys
from textgen.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_and_required_keys():
    keys = set(valid_keys())
    for key in [
        "data.tokenizer", "data.seq_len", "data.batch_size", "data.val_frac",
        "model.embedding_dim", "model.units", "model.layers", "model.cell", "model.dropout",
        "train.epochs", "train.lr", "train.clip_norm", "train.seed", "train.save_every",
    ]:
        assert key in keys
    cfg = Config()
    assert cfg.train.clip_norm == 5.0 and cfg.data.val_frac == 0.05


def test_set_overrides_are_typed():
    cfg = Config()
    apply_overrides(cfg, ["model.units=32", "train.lr=1e-3", "model.cell=gru",
                          "data.jieba_hmm=false"])
    assert cfg.model.units == 32 and isinstance(cfg.model.units, int)
    assert cfg.train.lr == pytest.approx(1e-3)
    assert cfg.model.cell == "gru" and cfg.data.jieba_hmm is False


@pytest.mark.parametrize("item, needle", [
    ("model.unitz=3", "valid keys: data.tokenizer"),
    ("model.units=many", "must be int"),
    ("model.units=2.5", "must be int"),
    ("model.cell=transformer", "must be one of 'lstm', 'gru'"),
    ("data.val_frac=0.9", "must be <= 0.5"),
    ("train.epochs=0", "must be >= 1"),
    ("nonsense", "section.key=value"),
    ("train.lr=nan", "finite"),
    ("train.lr=inf", "finite"),
])
def test_bad_overrides(item, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace("'", "'")):
        apply_overrides(Config(), [item])


def test_presets_load_and_differ_from_defaults():
    medium = Config.load(ROOT / "configs" / "char-medium.toml")
    assert (medium.model.embedding_dim, medium.model.units, medium.model.layers) == (256, 512, 2)
    assert (medium.data.seq_len, medium.data.batch_size) == (100, 64)
    novel = Config.load(ROOT / "configs" / "novel-zh.toml")
    assert (novel.model.embedding_dim, novel.model.units, novel.data.seq_len) == (512, 1024, 25)
    for preset in (ROOT / "configs").glob("*.toml"):
        Config.load(preset)  # every shipped preset is valid


def test_toml_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nunits = 'big'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="model.units must be int"):
        Config.load(bad)
    bad.write_text("[modle]\nunits = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown section \[modle\]"):
        Config.load(bad)
    with pytest.raises(ConfigError, match="not found"):
        Config.load(tmp_path / "missing.toml")
    bad.write_bytes("[model]\nunits = 3 # 注释\n".encode("gb18030"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        Config.load(bad)
    listing = tmp_path / "config.json"
    listing.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected sections"):
        Config.load(listing)


def test_json_round_trip(tmp_path):
    cfg = Config()
    apply_overrides(cfg, ["model.units=48", "data.tokenizer=word"])
    cfg.save(tmp_path / "config.json")
    assert Config.load(tmp_path / "config.json") == cfg


def test_data_encoding_must_be_a_known_codec():
    from textgen.config import Config, apply_overrides
    from textgen.errors import ConfigError

    cfg = Config()
    apply_overrides(cfg, ["data.encoding=cp1252"])
    assert cfg.data.encoding == "cp1252"
    for bad in ("klingon", "rot13", "base64", "zlib"):  # not text encodings
        with pytest.raises(ConfigError, match="data.encoding must be 'auto' or a text encoding"):
            apply_overrides(cfg, [f"data.encoding={bad}"])
