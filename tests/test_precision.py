"""train.precision: what "auto" picks, and that bfloat16 training keeps float32 where it matters."""

import numpy as np
import pytest

from tests.conftest import tiny_config
from textgen.config import Config, set_value
from textgen.errors import ConfigError
from textgen.precision import cpu_flags, has_fast_bfloat16, resolve_precision
from textgen.runs import new_run
from textgen.runtime import RecurrentLM
from textgen.train import Trainer


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_bf16 avx512f\n", encoding="utf-8")
    assert cpu_flags(info) == {"fpu", "avx2", "amx_bf16", "avx512f"}
    assert cpu_flags(tmp_path / "missing") == set()


@pytest.mark.parametrize(("flags", "gpus", "want"), [
    ({"avx2", "avx512f"}, [], False),  # AVX-512 without BF16: emulated, slower
    ({"avx512_bf16"}, [], True),
    ({"amx_bf16", "amx_tile"}, [], True),
    ({"avx2"}, [(8, 0)], True),  # Ampere: the GPU decides
    ({"amx_bf16"}, [(7, 5)], False),  # Turing has no fast bfloat16
    ({"avx2"}, [(9, 0), (7, 0)], False),  # every GPU must have it
])
def test_auto_picks_bfloat16_only_on_hardware_that_has_it(flags, gpus, want):
    assert has_fast_bfloat16(flags, gpus) is want


def test_explicit_precisions_are_kept_and_others_refused():
    assert resolve_precision("float32") == "float32"
    assert resolve_precision("mixed_bfloat16") == "mixed_bfloat16"
    assert resolve_precision("auto") in ("float32", "mixed_bfloat16")
    with pytest.raises(ConfigError, match="train.precision must be one of"):
        set_value(Config(), "train.precision", "float16")


def test_bfloat16_training_keeps_weights_state_and_logits_float32(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat. " * 200, encoding="utf-8")
    cfg = tiny_config(train__precision="mixed_bfloat16", train__max_steps=30, train__lr=0.01)
    run, enc, _ = new_run(cfg, [corpus], tmp_path / "run")
    trainer = Trainer(cfg, enc, run)
    assert trainer.precision == "mixed_bfloat16"
    rnn = trainer.model.get_layer("rnn_0")
    assert rnn.compute_dtype == "bfloat16" and rnn.variable_dtype == "float32"
    assert trainer.model.output.dtype == "float32"
    first = trainer.evaluate()[0]
    trainer.fit()
    assert trainer.evaluate()[0] < first - 0.3  # it learns
    assert all(v.dtype == "float32" for v in trainer.model.variables
               if "seed_generator" not in v.path)
    # The NumPy sampler reads the checkpoint and computes the model's (float32) logits.
    ckpt = run.read_checkpoint("last", prefixes=("model/",))
    lm = RecurrentLM.from_checkpoint(ckpt, cfg.model, enc.tokenizer.vocab_size)
    ids = np.asarray(enc.ids[:12], dtype=np.int32)[None].repeat(cfg.data.batch_size, 0)
    for layer in trainer.model.layers:
        if hasattr(layer, "reset_state"):
            layer.reset_state()
    want = trainer.model(ids, training=False).numpy()[0, -1]
    got, _ = lm.read(ids[:1], lm.zero_state(1))
    # bfloat16 matmuls in Keras vs float32 in NumPy: close, not equal.
    np.testing.assert_allclose(got[0], want, atol=0.1 * np.abs(want).max())
    assert np.argmax(got[0]) == np.argmax(want)
