"""`textgen sample` through CliRunner and a real subprocess: options, formats, interactive."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.test_cli import assert_user_error, invoke

ROOT = Path(__file__).resolve().parents[1]


def test_jsonl_has_one_record_per_sample_and_temperature(char_run):
    result = invoke("sample", char_run, "--length", 30, "--temperature", "0,1.5", "-n", 2,
                    "--seed", 4, "--prime", "All:", "--format", "jsonl", "--top-k", 7)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["settings"]["temperature"], r["seed"], r["sample"]) for r in records] == [
        (0.0, 4, 0), (0.0, 5, 1), (1.5, 4, 0), (1.5, 5, 1)]
    for r in records:
        assert r["prime"] == "All:" and r["finish_reason"] == "length" and r["tokens"] == 30
        assert len(r["text"]) == 30 and r["settings"]["top_k"] == 7
        assert r["checkpoint"] == {"run": str(char_run), "name": "best", "step": 300}  # the default
    assert records[2]["text"] != records[3]["text"]


def test_text_blocks_are_labelled_and_output_goes_to_a_file(char_run, tmp_path):
    args = ["sample", char_run, "--length", 40, "--temperature", "0.5,1.0", "-n", 2,
            "--seed", 1, "--prime", "All:"]
    shown = invoke(*args)
    assert shown.exit_code == 0, shown.output
    headers = [line for line in shown.stdout.splitlines() if line.startswith("=== ")]
    assert headers == ["=== sample 1/2 · temperature 0.5 · seed 1 ===",
                       "=== sample 2/2 · temperature 0.5 · seed 2 ===",
                       "=== sample 1/2 · temperature 1 · seed 1 ===",
                       "=== sample 2/2 · temperature 1 · seed 2 ==="]
    lines = shown.stdout.splitlines()
    assert all(lines[i + 1].startswith("All:") for i, line in enumerate(lines)
               if line.startswith("=== "))  # every block starts with the prompt
    out = tmp_path / "samples.txt"
    written = invoke(*args, "--output", out)
    assert written.exit_code == 0 and written.stdout == ""
    assert "wrote 4 sample(s)" in written.stderr
    assert out.read_text(encoding="utf-8") == shown.stdout


def test_no_prime_prime_file_and_stop(char_run, tmp_path):
    base = ["sample", char_run, "--length", 300, "--seed", 2, "--temperature", 0.8]
    with_prime = invoke(*base, "--prime", "All:\nSpeak")
    without = invoke(*base, "--prime", "All:\nSpeak", "--no-prime")
    assert with_prime.stdout == "All:\nSpeak" + without.stdout
    prime_file = tmp_path / "prime.txt"
    prime_file.write_bytes(b"\xef\xbb\xbfAll:\r\nSpeak")  # a BOM and a Windows line end
    assert invoke(*base, "--prime-file", prime_file).stdout == with_prime.stdout
    stopped = invoke(*base, "--prime", "All:\nSpeak", "--no-prime", "--stop", r"\n")
    assert stopped.exit_code == 0, stopped.output
    line = without.stdout.split("\n")[0]
    assert stopped.stdout == line + "\n"
    limited = invoke(*base, "--prime", "All:\nSpeak", "--no-prime", "--max-chars", 7)
    head = without.stdout[:7]
    assert limited.stdout == head + ("" if head.endswith("\n") else "\n")


def test_dropped_prompt_characters_are_reported(char_run):
    result = invoke("sample", char_run, "--prime", "All é", "--drop-unknown", "--length", 5)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("All ")
    assert "left out 1 character(s) the model never saw: 'é'" in result.stderr


@pytest.mark.parametrize("args, needle", [
    (["--top-p", 0], "--top-p"),
    (["--top-p", 1.5], "--top-p"),
    (["--top-k", -1], "--top-k"),
    (["--repetition-penalty", 0.5], "--repetition-penalty"),
    (["--temperature", "0.5,abc"], "'abc' is not a number"),
    (["--temperature", "0.5,nan"], "'nan' is not a number"),
    (["--num-samples", 0], "--num-samples"),
    (["--max-chars", 0], "--max-chars"),
    (["--prime", "x", "--prime-file", "p.txt"], "not both"),
    (["--prime-file", "/nonexistent/p.txt"], "no such file"),
    (["--interactive", "--format", "jsonl"], "--interactive"),
    (["--stop", ""], "stop string must not be empty"),
])
def test_bad_sample_options_are_one_line_errors(char_run, args, needle):
    assert_user_error(invoke("sample", char_run, *args), needle)


def test_a_non_utf8_prime_file_is_a_clear_error(char_run, tmp_path):
    bad = tmp_path / "gbk.txt"
    bad.write_bytes("春眠".encode("gb18030"))
    assert_user_error(invoke("sample", char_run, "--prime-file", bad), "not UTF-8")


def test_interactive_mode_driven_through_stdin(char_run):
    from textgen.generate.generator import Generator
    from textgen.generate.samplers import SamplerSettings

    lines = ["/temperature 0", "/length 25", "All:", "/reset", "All:", "", "/top-p 2",
             "/bogus", "/help", "/quit", "never read"]
    result = invoke("sample", char_run, "-i", "--seed", 1, input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    # Greedy: the same prompt after /reset gives the same reply; the empty line
    # continues from where the model was.
    whole = Generator(char_run).generate("All:", 50, settings=SamplerSettings(0))
    first, then = whole[:25], whole[25:]
    shown = [t if t.endswith("\n") else t + "\n" for t in (first, first, then)]
    assert result.stdout == "".join(shown)
    assert "temperature 0, " in result.stderr and "length 25" in result.stderr
    assert "/top-p 2: `top_p` must be a number in (0, 1]" in result.stderr
    assert "unknown command /bogus" in result.stderr
    assert "/repetition-penalty" in result.stderr  # the help text
    assert "Traceback" not in result.output


def test_interactive_replies_continue_the_conversation(char_run):
    from textgen.generate.generator import Generator
    from textgen.generate.interactive import Session
    from textgen.generate.samplers import SamplerSettings

    session = Session(Generator(char_run), SamplerSettings(0), length=20)
    first = session.handle("All:").generation
    text1 = "".join(p for _, p in first)
    session.finished(first)
    cont = session.handle("").generation  # Enter alone: keep writing
    text2 = "".join(p for _, p in cont)
    session.finished(cont)
    session.handle("/reset")
    again = session.handle("All:").generation
    assert "".join(p for _, p in again) == text1
    fresh = Session(Generator(char_run), SamplerSettings(0), length=40).handle("All:").generation
    assert "".join(p for _, p in fresh) == text1 + text2  # greedy: one continuous text
    # A typed line is read on top of the conversation, after a line break.
    session.finished(again)
    typed = session.handle("First").generation
    gen = session.gen
    sep = "" if text1.endswith("\n") else "\n"
    whole, _ = gen.start(gen.encode_prime("All:" + text1 + sep + "First"))
    alone, _ = gen.start(gen.encode_prime("\nFirst"))
    np.testing.assert_allclose(typed.logits, whole, atol=1e-5)
    assert not np.allclose(typed.logits, alone, atol=1e-3)


NO_TF = """
import sys
{body}
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
print("loaded:", loaded, file=sys.stderr)
"""


@pytest.mark.parametrize("body", [
    "from textgen.cli import main\nsys.argv = ['textgen', 'sample', RUN, '--length', '50', "
    "'--seed', '1', '--top-p', '0.9']\ntry:\n    main()\nexcept SystemExit:\n    pass",
    "import textgen\nprint(textgen.load(RUN).generate('All:', 50, seed=1))",
])
def test_generation_does_not_import_tensorflow(char_run, body):
    code = NO_TF.format(body=body.replace("RUN", repr(str(char_run))))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, encoding="utf-8", timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) >= 50
    assert "loaded: []" in result.stderr, result.stderr


def shown(text: str) -> str:
    """A reply as the CLI prints it: with a line break after it."""
    return text if text.endswith("\n") else text + "\n"


def test_sampler_options_reach_the_sampler(char_run):
    from textgen.generate.generator import Generator
    from textgen.generate.samplers import SamplerSettings

    opts = ["--temperature", 1.3, "--top-k", 5, "--top-p", 0.5, "--repetition-penalty", 3,
            "--repetition-window", 8]
    result = invoke("sample", char_run, "--prime", "All:", "--length", 120, "--seed", 2, *opts)
    assert result.exit_code == 0, result.output
    want = Generator(char_run).generate(
        "All:", 120, settings=SamplerSettings(1.3, 5, 0.5, 3.0, 8), seed=2)
    assert result.stdout == shown("All:" + want)
    for i in range(0, len(opts) - 2, 2):  # each option alone changes the text (not the window)
        alone = invoke("sample", char_run, "--prime", "All:", "--length", 120, "--seed", 2,
                       *opts[i : i + 2])
        assert alone.stdout != invoke("sample", char_run, "--prime", "All:", "--length", 120,
                                      "--seed", 2).stdout, opts[i]


def test_jsonl_reports_a_stop(char_run):
    result = invoke("sample", char_run, "--prime", "All:", "--length", 200, "--seed", 1,
                    "--stop", " ", "--stop", r"\n\n", "--format", "jsonl", "-n", 3)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["finish_reason"] for r in records] == ["stop"] * 3
    assert all(" " not in r["text"] and r["tokens"] > len(r["text"]) for r in records)


def test_stop_escapes():
    from textgen.cli.options import unescape as _unescape

    assert _unescape(r"\n\t\r\\x\q") == "\n\t\r\\x\\q"
    assert _unescape("a\\") == "a\\" and _unescape("诗\\n") == "诗\n"


def test_interactive_lines_continue_the_conversation_with_a_line_break(char_run):
    from textgen.generate.generator import Generator
    from textgen.generate.samplers import SamplerSettings

    lines = ["/temperature 0", "/length 20", "All:", "First"]
    result = invoke("sample", char_run, "-i", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    gen, greedy = Generator(char_run), SamplerSettings(0)
    first = gen.generate("All:", 20, settings=greedy)
    # The second line is read after the first reply and a line break, as shown.
    typed = ("" if first.endswith("\n") else "\n") + "First"
    second = gen.generate("All:" + first + typed, 20, settings=greedy)
    assert result.stdout == shown(first) + shown(second)


def test_interactive_seed_max_chars_and_bad_input(char_run):
    from textgen.generate.generator import Generator

    lines = ["/seed 5", "/max-chars 10", "All:", "/reset", "All:", "/seed -1", "/length 0",
             "/max-chars x"]
    result = invoke("sample", char_run, "-i", input=("\n".join(lines) + "\n").encode()
                    + b"\xff\xfeAll\n/quit\n")
    assert result.exit_code == 0, result.output
    gen = Generator(char_run)
    replies = [gen.generate("All:", 500, seed=s, max_chars=10) for s in (5, 6)]
    assert result.stdout == "".join(shown(r) for r in replies)
    assert "/seed -1: must be >= 0" in result.stderr
    assert "/length 0: must be >= 1" in result.stderr
    assert "/max-chars x:" in result.stderr
    assert "not valid UTF-8" in result.stderr  # undecodable input: a message, not a crash


def test_max_lines_stops_a_sample_after_n_lines(char_run):
    from textgen.generate.generator import Generator

    result = invoke("sample", char_run, "--prime", "All:", "--no-prime", "--max-lines", 3,
                    "--seed", 2, "--length", 2000, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["text"].count("\n") == 3 and record["text"].endswith("\n")
    assert record["text"] == Generator(char_run).generate("All:", 2000, seed=2, max_lines=3)
    assert_user_error(invoke("sample", char_run, "--max-lines", 0), "--max-lines")
    said = invoke("sample", char_run, "-i", "--seed", 2, "--length", 2000,
                  input="/max-lines 2\nAll:\n/settings\n")
    assert said.exit_code == 0 and said.stdout.count("\n") == 2, said.output
    assert "max-lines 2" in said.stderr


def test_length_zero_with_nothing_to_print_is_refused(char_run):
    for args in ([], ["--prime", "All:", "--no-prime"]):
        assert_user_error(invoke("sample", char_run, "--length", 0, *args),
                          "--length 0 generates nothing, and there is no prime to print")
    primed = invoke("sample", char_run, "--length", 0, "--prime", "All:")
    assert primed.exit_code == 0 and primed.stdout == "All:\n", primed.output


def test_unknown_characters_are_told_in_the_commands_words(char_run):
    result = invoke("sample", char_run, "--prime", "All é", "--length", 5)
    assert_user_error(result, "rephrase it, or pass --drop-unknown to leave them out")
    assert "drop_unknown" not in result.stderr
    said = invoke("sample", char_run, "-i", input="All é\n")
    assert "rephrase it, or start again with --drop-unknown" in said.stderr, said.output


def test_sampling_a_run_with_no_training_step_warns(tmp_path):
    from tests.conftest import TINY_TEXT, tiny_config
    from textgen.data.encode import EncodeOptions
    from textgen.run.opening import new_run
    from textgen.train.trainer import Trainer

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TINY_TEXT, encoding="utf-8")
    cfg = tiny_config()
    run, enc, _ = new_run(cfg, [corpus], tmp_path / "run",
                          EncodeOptions(cache_dir=tmp_path / "cache"))
    trainer = Trainer(cfg, enc, run)  # killed here: only the checkpoint fit saves first
    trainer.saver.save_last(trainer.model, trainer.state, trainer.optimizer, rotate=False)
    assert run.read_checkpoint("last").state.step == 0
    result = invoke("sample", run.path, "--length", 20)
    assert result.exit_code == 0, result.output
    assert (f"warning: {run.path} has had no training step yet (its 'last' checkpoint is at "
            "step 0, as the run started): its text is random noise") in result.stderr
    from textgen.serve.models import load_models

    (model,) = load_models([run.path]).values()  # the server says it on its console
    assert any("has had no training step yet" in n for n in model.notices), model.notices


def test_interactive_constraints_count_lines_across_the_conversation(char_run):
    """A line-length rule sees the whole conversation: a reply that continues a line
    ("Enter alone") keeps counting from where the last reply stopped."""
    from textgen.generate.constraints import MaxLineLength
    from textgen.generate.generator import Generator
    from textgen.generate.interactive import Session
    from textgen.generate.samplers import SamplerSettings

    limit = 12
    session = Session(Generator(char_run), SamplerSettings(1.0), length=15, seed=3,
                      constraints=[MaxLineLength(limit)])
    conversation = ""
    for line in ["All", "", "", "", ""]:
        reply = session.handle(line).generation
        conversation += line + "".join(p for _, p in reply)
        session.finished(reply)
        lines = conversation.split("\n")
        assert max(map(len, lines)) <= limit, lines
        assert session.line_chars == len(lines[-1])
