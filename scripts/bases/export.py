"""Packages a trained leg as a shipped base model: weights, card and manifest in models/.

Scores the leg's checkpoint on the validation tail of every source of its mix
(the same tails training held out: `data.val_frac` of each file), compares with
the model already in models/ (new weights are committed only when better by
`--margin` bits/char on the same tails), appends the leg to
`scripts/bases/<name>-legs.json`, and writes the model directory with a card
built from all of it: the mix with sizes and licences, the architecture, every
leg, validation bits/char per source beside the unigram figure, and samples at
temperatures 0.5, 0.8 and 1.0.

Usage:
    python scripts/bases/export.py en /work/legs/en-1 --mix /work/mix/en \
        --hardware "1 core of an AMD EPYC (AVX2, no AVX-512), float32"
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
MODELS = ROOT / "models" / "textgen_models"
LANGUAGE = {"en": "English", "zh": "Chinese"}
PROMPTS = {"en": ["It was", "CHAPTER I\n\n", "The function"],
           "zh": ["春风", "第一回", "我们"]}
KINDS = {"en": "fiction, plays, verse, letters, essays, the Bible, technical",
         "zh": "classical verse and prose, novels, documentation, software text"}
LIMITS = {
    "en": [
        "Trained on CPU time only: it writes plausible words and phrasing, not "
        "coherent paragraphs; fine-tune it on your own text for your style.",
        "Its English is public domain, so mostly from before 1930 (novels, plays, "
        "letters, essays, the Bible); modern idiom comes only from technical prose "
        "(Python's PEPs and docs, the Rust book, the Jargon File).",
        "Characters outside its vocabulary (any script but Latin) are <unk> until a "
        "fine-tune adds them (`textgen finetune en-base mine.txt` does by default).",
    ],
    "zh": [
        "Trained on CPU time only: it writes plausible characters, words and line "
        "shapes, not coherent passages; fine-tune it on your own text for your style.",
        "Its modern Chinese is mostly documentation, manuals and software strings "
        "(and 鲁迅); everyday writing such as diaries, chat or lyrics is a small share, "
        "and classical verse is over a third of the mix.",
        "Simplified and traditional script are both in the vocabulary, but a sample "
        "may mix them; a prompt in one script pulls the model toward it.",
    ],
}


def tails(texts: dict[str, str], val_frac: float, seq_len: int, max_chars: int
          ) -> dict[str, str]:
    """The validation tail of every source text of the mix (its first `max_chars`
    characters, cut at a line), by source name."""
    from textgen.data.batches import validation_tails

    sizes = [len(t) for t in texts.values()]
    cut = validation_tails(sizes, val_frac, "each-file", seq_len)
    out = {}
    for (name, text), n in zip(texts.items(), cut, strict=True):
        tail = text[len(text) - n:]
        if len(tail) > max_chars:
            tail = tail[: tail.rfind("\n", 0, max_chars) + 1 or max_chars]
        if tail:
            out[name] = tail
    return out


def unigram_bits(train_text: str, tail: str) -> float:
    """Bits/char of guessing each character by its training frequency (add-one)."""
    counts = Counter(train_text)
    total, vocab = sum(counts.values()), len(counts) + 1
    return -sum(math.log2((counts.get(c, 0) + 1) / (total + vocab)) for c in tail) / len(tail)


def score(run: Path, checkpoint: str, texts: dict[str, str]) -> dict[str, float]:
    """Bits/char of the checkpoint on each text (TF-free), by name."""
    from textgen.evaluate.perplexity import evaluate

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in texts.items():
            path = Path(tmp) / f"{name}.txt"
            path.write_text(text, encoding="utf-8")
            out[name] = evaluate(run, [path], checkpoint=checkpoint).bits_per_char
            print(f"  {name:22} {out[name]:.3f} bits/char", file=sys.stderr)
    return out


def samples(run: Path, checkpoint: str, lang: str) -> list[tuple[float, str, str]]:
    """(temperature, prompt, text) at temperatures 0.5, 0.8 and 1.0."""
    from textgen.generate.generator import Generator
    from textgen.generate.samplers import SamplerSettings

    gen = Generator(run, checkpoint)
    out = []
    for t, prompt in zip((0.5, 0.8, 1.0), PROMPTS[lang], strict=True):
        text = gen.generate(prompt, 300 if lang == "en" else 150,
                            settings=SamplerSettings(temperature=t), seed=1)
        out.append((t, prompt, prompt + text))
    return out


def card(name: str, lang: str, cfg, vocab_size: int, sources: list[dict], legs: list[dict],
         per_source: dict[str, float], unigram: dict[str, float],
         shown: list[tuple[float, str, str]]) -> str:
    """The model card's Markdown."""
    table = cfg.model.parameter_table(vocab_size)
    total = sum(n for _, _, n in table)
    total_chars = sum(s["chars"] for s in sources)
    lines = [
        f"# {name}", "",
        f"A character-level {LANGUAGE[lang]} base model for textgen: sample from it as it is, "
        f"or fine-tune it on your own text (`textgen finetune {name} mine.txt`). Trained by "
        "textgen itself from the recipe in `scripts/bases/` (README there).", "",
        "## Training mix", "",
        f"{len(sources)} sources, {total_chars:,} characters after cleaning "
        "(`scripts/bases/mix.py`: NFC, LF newlines, junk characters such as U+FFFD and "
        "U+25A1 removed, trailing spaces stripped, repeated paragraphs dropped; licence "
        "headers and footers cut by each source's reader).", "",
        "| source | kind | characters | share | licence | origin |", "|---|---|---:|---:|---|---|",
    ]
    for s in sources:
        lines.append(f"| {s['name']} | {s['kind']} | {s['chars']:,} | "
                     f"{s['chars'] / total_chars:.1%} | {s['licence']} | {s['origin']} |")
    lines += ["", "## Architecture", "",
              f"Embedding({vocab_size:,}, {cfg.model.embedding_dim}) → {cfg.model.layers} × "
              f"{cfg.model.cell.upper()}({cfg.model.units}) → Dense({vocab_size:,}): "
              f"{total:,} parameters, stored as float16 (read back as float32). "
              f"Vocabulary: {vocab_size:,} characters (`scripts/bases/vocab.py`).", "",
              "| layer | kind | parameters |", "|---|---|---:|"]
    lines += [f"| {n} | {k} | {p:,} |" for n, k, p in table]
    lines += ["", "## Training legs", "",
              "Each leg trains for about two hours (`--max-time`), in the background; the "
              "next starts from the committed weights with a fresh optimizer.", "",
              "| leg | date | from | steps | tokens | wall time | hardware | rows × length | lr | "
              "val bits/char |", "|---|---|---|---:|---:|---:|---|---|---|---:|"]
    for i, leg in enumerate(legs, 1):
        lines.append(f"| {i} | {leg['date']} | {leg['from']} | {leg['steps']:,} | "
                     f"{leg['tokens']:,} | {leg['wall_s'] / 3600:.2f} h | {leg['hardware']} | "
                     f"{leg['batch_size']} × {leg['seq_len']} | {leg['lr']:g} | "
                     f"{leg['val_bits_per_char']:.3f} |")
    overall = legs[-1]["val_bits_per_char"]
    lines += ["", "## Validation", "",
              f"Bits per character on the held-out tail of every source (the last "
              f"{cfg_val(legs)} of each file, never trained on; up to its first "
              f"{legs[-1]['scored_chars_per_source']:,} characters), beside the unigram "
              "figure (each character "
              f"guessed by its frequency). Over all tails: **{overall:.3f} bits/char**.", "",
              "| source | bits/char | unigram |", "|---|---:|---:|"]
    lines += [f"| {k} | {v:.3f} | {unigram[k]:.3f} |" for k, v in per_source.items()]
    lines += ["", "## Samples", "",
              "`textgen sample " + name + " --prime PROMPT --temperature T --seed 1`:", ""]
    for t, prompt, text in shown:
        lines += [f"Temperature {t}, prompt {prompt!r}:", "", "```text", text.rstrip("\n"),
                  "```", ""]
    lines += ["## Known limits", ""] + [f"- {x}" for x in LIMITS[lang]]
    return "\n".join(lines) + "\n"


def cfg_val(legs: list[dict]) -> str:
    return f"{legs[-1]['val_frac']:.0%}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lang", choices=("en", "zh"))
    ap.add_argument("run", type=Path, help="the leg's run directory")
    ap.add_argument("--mix", type=Path, required=True, help="the mix it trained on")
    ap.add_argument("--checkpoint", default="best")
    ap.add_argument("--hardware", required=True, help="what it trained on, for the card")
    ap.add_argument("--from", dest="start", default="scratch", help="what the leg started from")
    ap.add_argument("--out", type=Path, help="model directory [default: models/.../NAME]")
    ap.add_argument("--legs", type=Path, help="legs record [default: scripts/bases/NAME-legs.json]")
    ap.add_argument("--max-chars", type=int, default=30000,
                    help="score at most this much of each source's validation tail")
    ap.add_argument("--margin", type=float, default=0.01,
                    help="bits/char by which a leg must beat the shipped model")
    args = ap.parse_args()

    from textgen.run import installed
    from textgen.run.directory import RunDir
    from textgen.run.packaging import write_model
    from textgen.run.repair import load

    name = f"{args.lang}-base"
    loaded = load(RunDir(args.run), args.checkpoint, prefixes=())
    cfg, tok, state = loaded.cfg, loaded.tokenizer, loaded.checkpoint.state
    texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted(args.mix.glob("*.txt"))}
    held = tails(texts, cfg.data.val_frac, cfg.data.seq_len, args.max_chars)
    print(f"{name}: scoring step {state.step:,} on {len(held)} validation tails", file=sys.stderr)
    per_source = score(args.run, args.checkpoint, held)
    weights = {k: len(v) for k, v in held.items()}
    overall = sum(per_source[k] * weights[k] for k in held) / sum(weights.values())
    out = args.out or MODELS / name
    if installed.is_model(out):
        old = score(out, "last", held)
        old_overall = sum(old[k] * weights[k] for k in held) / sum(weights.values())
        print(f"shipped model: {old_overall:.3f}; this leg: {overall:.3f}", file=sys.stderr)
        if overall > old_overall - args.margin:
            sys.exit(f"not better by {args.margin} bits/char: the shipped model stays")
    unigram = {k: unigram_bits(texts[k][: int(len(texts[k]) * (1 - cfg.data.val_frac))], v)
               for k, v in held.items()}
    legs_file = args.legs or HERE / f"{name}-legs.json"
    legs = json.loads(legs_file.read_text(encoding="utf-8")) if legs_file.exists() else []
    legs.append({"date": date.today().isoformat(), "from": args.start, "steps": state.step,
                 "tokens": state.tokens_seen, "wall_s": round(state.elapsed_s),
                 "hardware": args.hardware, "batch_size": cfg.data.batch_size,
                 "seq_len": cfg.data.seq_len, "lr": cfg.train.lr, "val_frac": cfg.data.val_frac,
                 "val_bits_per_char": round(overall, 4), "checkpoint": args.checkpoint,
                 "scored_chars_per_source": args.max_chars,
                 "mix_sources": sorted(texts)})
    sources = json.loads((args.mix / "SOURCES.json").read_text(encoding="utf-8"))
    text = card(name, args.lang, cfg, tok.vocab_size, sources, legs, per_source, unigram,
                samples(args.run, args.checkpoint, args.lang))
    total_mb = sum(s["bytes"] for s in sources) / 1e6
    summary = {"language": LANGUAGE[args.lang], "val_bits_per_char": round(overall, 4),
               "trained_on": f"{len(sources)} sources, {total_mb:.0f} MB: {KINDS[args.lang]}"}
    manifest = write_model(args.run, args.checkpoint, out, name, text, summary)
    legs_file.write_text(json.dumps(legs, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out} ({manifest.size_bytes / 1e6:.1f} MB), val {overall:.3f} bits/char",
          file=sys.stderr)


if __name__ == "__main__":
    main()
