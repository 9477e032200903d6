"""The README documents what the code offers (docs move with the code)."""

from pathlib import Path

from click.testing import CliRunner

from textgen.cli import cli
from textgen.config import lookup as presets
from textgen.config import valid_keys

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_config_key_is_documented():
    missing = [k for k in valid_keys() if f"`{k}`" not in README]
    assert not missing, f"README lacks config keys: {missing}"


def test_every_preset_is_documented_and_commented():
    for name in presets.names():
        assert f"| `{name}` |" in README, name  # a row of the presets table
        text = (presets.PRESET_DIR / f"{name}.toml").read_text(encoding="utf-8")
        assert text.startswith(f"# {name}: "), f"{name}: no one-line summary comment"


def test_every_command_is_documented():
    for name in cli.commands:
        assert f"textgen {name}" in README, name
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output


def test_bundled_corpora_have_sources():
    sources = (ROOT / "corpora" / "README.md").read_text(encoding="utf-8")
    for corpus in (ROOT / "corpora").glob("*.txt"):
        assert corpus.name in sources, corpus.name


def test_every_sample_option_is_documented():
    sample = cli.commands["sample"]
    options = [opt for p in sample.params for opt in p.opts if opt.startswith("--")]
    missing = [opt for opt in options if f"`{opt}" not in README and f"{opt} " not in README]
    assert not missing, f"README lacks sample options: {missing}"


def test_the_readme_python_example_runs(char_run, capsys):
    block = README.split("### Generating from Python")[1].split("```python\n")[1].split("```")[0]
    # The tiny test run knows only the letters of its corpus: swap the names.
    code = block.replace('"runs/quickstart"', repr(str(char_run)))
    code = code.replace("ROMEO:", "All:").replace("JULIET:", "First Citizen:")
    exec(code, {})  # noqa: S102
    out = capsys.readouterr().out
    assert len(out) >= 200 + 500


def test_every_serve_option_is_documented():
    serve = cli.commands["serve"]
    options = [o for p in serve.params for o in p.opts if o.startswith("--") and o != "--help"]
    missing = [opt for opt in options if f"`{opt}" not in README]
    assert not missing, f"README lacks serve options: {missing}"
