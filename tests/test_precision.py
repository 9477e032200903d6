"""train.precision: what "auto" picks, and that bfloat16 training keeps float32 where it matters."""

import json

import numpy as np
import pytest

from tests.conftest import tiny_config
from textgen.config import Config, set_value
from textgen.errors import ConfigError
from textgen.model.numpy_lm import RecurrentLM
from textgen.model.precision import auto_precision, cpu_flags, resolve_precision
from textgen.run.opening import new_run, open_run
from textgen.train.trainer import Trainer


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_bf16 avx512f\n", encoding="utf-8")
    assert cpu_flags(info) == {"fpu", "avx2", "amx_bf16", "avx512f"}
    assert cpu_flags(tmp_path / "missing") == set()


@pytest.mark.parametrize(("flags", "gpus", "want"), [
    ({"avx2", "avx512f"}, 0, "float32"),  # no native bfloat16: emulated, slower
    ({"avx512_bf16", "avx512f"}, 0, "float32"),  # without AMX: not measured
    ({"amx_bf16", "amx_tile", "avx512_bf16"}, 0, "mixed_bfloat16"),  # measured faster
    ({"amx_bf16"}, 1, "float32"),  # a GPU trains (cuDNN), not the CPU
])
def test_auto_picks_bfloat16_only_where_it_was_measured_faster(flags, gpus, want):
    assert auto_precision(flags, gpus) == want


def test_explicit_precisions_are_kept_and_others_refused():
    assert resolve_precision("float32") == "float32"
    assert resolve_precision("mixed_bfloat16") == "mixed_bfloat16"
    assert resolve_precision("auto") == auto_precision(cpu_flags(), 0)  # no GPU in CI
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
    lm = RecurrentLM.from_weights(ckpt.weights(), cfg.model, enc.tokenizer.vocab_size)
    ids = np.asarray(enc.ids[:12], dtype=np.int32)[None].repeat(cfg.data.batch_size, 0)
    for layer in trainer.model.layers:
        if hasattr(layer, "reset_state"):
            layer.reset_state()
    want = trainer.model(ids, training=False).numpy()[0, -1]
    got, _ = lm.read(ids[:1], lm.zero_state(1))
    # bfloat16 matmuls in Keras vs float32 in NumPy: close, not equal.
    np.testing.assert_allclose(got[0], want, atol=0.1 * np.abs(want).max())
    assert np.argmax(got[0]) == np.argmax(want)


def test_auto_is_recorded_at_creation_and_old_runs_resume_in_float32(tmp_path, tiny_corpus):
    cfg = tiny_config(train__precision="auto", train__max_steps=2)
    run, enc, _ = new_run(cfg, [tiny_corpus], tmp_path / "run")
    recorded = json.loads(run.config.read_text(encoding="utf-8"))["train"]["precision"]
    assert recorded == auto_precision(cpu_flags(), 0) != "auto"
    Trainer(cfg, enc, run).fit()
    # A run saved before train.precision existed trained in float32, and resumes so.
    raw = json.loads(run.config.read_text(encoding="utf-8"))
    del raw["train"]["precision"]
    run.config.write_text(json.dumps(raw), encoding="utf-8")
    assert open_run(run.path)[0].train.precision == "float32"
    # The user may change it on resume (weights are float32 either way).
    again, _, _ = open_run(run.path, ["train.precision=mixed_bfloat16"])
    assert again.train.precision == "mixed_bfloat16"
