"""How `textgen sample` shows its samples: streamed text, labelled blocks, or JSON lines.

Part of the command-line interface (it writes to stdout and files); the
generation itself is `textgen.generate.generator`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from textgen.errors import TextgenError
from textgen.fileio import atomic_write_text
from textgen.generate.generation import Generation
from textgen.generate.generator import DROP_UNKNOWN_HINT, Generator
from textgen.generate.poetry.poem import poem_of
from textgen.generate.samplers import SamplerSettings
from textgen.generate.settings import SETTINGS
from textgen.interrupt import sigint_flag


def settings_from(temperature: float, options: dict) -> SamplerSettings:
    """The sampler settings of one temperature and the command's other options
    (one per declared setting)."""
    values = {s.name: options[s.name] for s in SETTINGS if s.name != "temperature"}
    return SamplerSettings(temperature=temperature, **values)


# Argument names that library messages quote as `name`, and that `textgen sample` has as
# --name options.
CLI_ARGUMENTS = ("length", "max_chars", "max_lines", "stop", "form", "acrostic", "rhyme",
                 "rhyme_group", "tones", "no_repeat", "best_of")


def in_cli_words(message: str, verb: str = "pass", options: bool = True) -> str:
    """A library message with the API's argument words replaced by the command's flags:
    the --drop-unknown hint, and with `options` the arguments (`rhyme_group` ->
    --rhyme-group; not for interactive replies, which have their own commands)."""
    message = message.replace(DROP_UNKNOWN_HINT, f"{verb} --drop-unknown")
    for name in CLI_ARGUMENTS if options else ():
        message = message.replace(f"`{name}`", "--" + name.replace("_", "-"))
    return message


def untrained_warning(gen: Generator) -> list[str]:
    """A warning when the checkpoint has had no training step: its text is noise."""
    if gen.step > 0:
        return []
    return [f"warning: {gen.run_path} has had no training step yet (its '{gen.checkpoint}' "
            "checkpoint is at step 0, as the run started): its text is random noise; "
            f"train it first (textgen train --resume {gen.run_path})"]


def read_prime_file(path: Path) -> str:
    """Reads a prime from a UTF-8 file (byte-order mark removed, CRLF as LF, as corpora are).

    Raises:
        TextgenError: the file is missing, unreadable or not UTF-8.
    """
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise TextgenError(f"--prime-file {path}: no such file") from None
    except UnicodeDecodeError as e:
        raise TextgenError(
            f"--prime-file {path}: not UTF-8 (byte {e.start}); convert it, e.g. "
            f"iconv -f GB18030 -t UTF-8 {path} > prime.txt"
        ) from None
    except OSError as e:
        raise TextgenError(f"--prime-file {path}: cannot read it ({e.strerror or e})") from None
    return text.replace("\r\n", "\n")


_CAUSES = {"rules": "the rules together allowed no character there",
           "probability": "no allowed character had probability left"}


def relaxed_note(generation: Generation, row: int, label: str = "") -> str:
    """The notice of what a row's poem relaxed ("" when nothing, or no poem)."""
    poem = poem_of(generation.constraints)
    relaxed = poem.relaxed[row] if poem else []
    if not relaxed:
        return ""
    where = ", ".join(f"{r['rule']} at line {r['line']} char {r['char']} "
                      f"({_CAUSES[r.get('cause', 'probability')]})" for r in relaxed[:5])
    more = f" and {len(relaxed) - 5} more" if len(relaxed) > 5 else ""
    return f"note: {label}the poem relaxed {where}{more}"


class SampleWriter:
    """Writes generations as text or JSON lines, to stdout (streamed) or to a file.

    Args:
        gen: the generator (for the checkpoint's description).
        fmt: "text" or "jsonl".
        output: a file to write at the end instead of stdout, or None.
        show_prime: print the prime before each sample's text (text format).
        labelled: put a header line before each sample (several samples or temperatures).
    """

    def __init__(self, gen: Generator, fmt: str, output: Path | None, show_prime: bool,
                 labelled: bool):
        self.gen, self.fmt, self.output = gen, fmt, output
        self.show_prime, self.labelled = show_prime, labelled
        self._file: list[str] = []  # what goes into `output`
        self._count = 0

    def _out(self, text: str) -> None:
        if self.output is None:
            click.echo(text, nl=False)
            sys.stdout.flush()
        else:
            self._file.append(text)

    def _header(self, generation: Generation, row: int) -> str:
        n = len(generation.seeds)
        which = f"sample {row + 1}/{n} · " if n > 1 else ""
        return (f"=== {which}temperature {generation.settings.temperature:g} · "
                f"seed {generation.seeds[row]} ===\n")

    def write(self, generation: Generation) -> None:
        """Runs `generation`, streaming its first sample when writing text to stdout.

        Raises:
            KeyboardInterrupt: Ctrl-C was pressed (the samples so far are not written).
        """
        n = len(generation.seeds)
        prime = generation.prime.text if self.show_prime else ""
        stream = self.fmt == "text"
        with sigint_flag() as interrupted:  # from the first character written
            if stream:
                self._out(self._block_start(generation, 0) + prime)
            for row, piece in generation:
                if interrupted():
                    raise KeyboardInterrupt
                if stream and row == 0:
                    self._out(piece)
        if self.fmt == "jsonl":
            for row in range(n):
                self._out(json.dumps(self._record(generation, row), ensure_ascii=False) + "\n")
        else:
            texts = [prime + s.text for s in generation.samples]
            if not texts[0].endswith("\n"):
                self._out("\n")
            for row in range(1, n):
                self._out(self._block_start(generation, row) + texts[row]
                          + ("" if texts[row].endswith("\n") else "\n"))
        self._count += n
        for row in range(n):
            note = relaxed_note(generation, row, f"sample {row + 1}: ")
            if note:
                click.echo(note, err=True)

    def _block_start(self, generation: Generation, row: int) -> str:
        if not self.labelled:
            return ""
        return ("\n" if self._count or row else "") + self._header(generation, row)

    def _record(self, generation: Generation, row: int) -> dict:
        s = generation.samples[row]
        return {
            "text": s.text,
            "prime": s.prime,
            "seed": s.seed,
            "finish_reason": s.finish_reason,
            "tokens": s.tokens,
            "sample": row,
            "settings": generation.settings_dict(),
            "checkpoint": {"run": str(self.gen.run_path), "name": self.gen.checkpoint,
                           "step": self.gen.step},
        } | self._poem_record(generation, row)

    def _poem_record(self, generation: Generation, row: int) -> dict:
        poem = poem_of(generation.constraints)
        if poem is None:
            return {}
        s = generation.samples[row]
        report = poem.report(row, s.prime + s.text)
        return {"poem": {"constraints": report["constraints"], "check": report["check"]},
                "relaxed": report["relaxed"]}

    def close(self) -> None:
        """Writes the output file, if any, and says so on stderr.

        Raises:
            TextgenError: the file cannot be written.
        """
        if self.output is None:
            return
        try:
            atomic_write_text(self.output, "".join(self._file))
        except OSError as e:
            raise TextgenError(
                f"--output {self.output}: cannot write it ({e.strerror or e})") from None
        click.echo(f"wrote {self._count} sample(s) to {self.output}", err=True)
