"""textgen plot writes a PNG of the loss curves; a run without metrics is a clear error."""

from tests.conftest import train_run
from tests.test_cli import assert_user_error, invoke
from textgen.evaluate.plot import read_curves
from textgen.run.directory import RunDir

PNG = b"\x89PNG\r\n\x1a\n"


def test_plot_writes_a_png_of_several_runs(char_run, tmp_path):
    other = train_run(tmp_path / "other", steps=12)
    out = tmp_path / "curves.png"
    result = invoke("plot", char_run, other, "--output", out)
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(PNG) and len(data) > 10_000
    train, val = read_curves(RunDir(char_run))
    assert len(train) >= 5 and len(val) >= 1
    assert all(s2 > s1 for (s1, _), (s2, _) in zip(train, train[1:], strict=False))
    # The default output is RUN_DIR/loss.png of the first run.
    assert invoke("plot", other).exit_code == 0 and (other / "loss.png").read_bytes()[:8] == PNG


def test_plot_without_metrics_is_a_one_line_error(tmp_path):
    run = tmp_path / "fresh"
    run.mkdir()
    assert_user_error(invoke("plot", run), "no metrics.csv yet")


def test_plot_into_a_missing_directory_is_refused(char_run, tmp_path):
    out = tmp_path / "no" / "such" / "curves.png"
    assert_user_error(invoke("plot", char_run, "--output", out),
                      f"--output {out}: no directory {out.parent}; create it first")
    assert not (tmp_path / "no").exists()  # nothing made behind the user's back
