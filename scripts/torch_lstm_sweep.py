"""Explores regularisers for textgen's character LSTM in PyTorch, on a GPU, by optimizer steps.

textgen's 60-minute tiny-shakespeare target is a question of which regulariser
lets a 2 x LSTM model go on learning instead of overfitting. Trying each idea
in textgen on the project's 2-core CPU costs an hour per try; this script runs
the same recipe (char-rnn's stateful layout, B rows walked in T-step windows,
state carried and detached, reset each epoch; the last 5% as validation, read
in order with B rows and the state carried; Adam with global-norm clipping;
textgen's cosine schedule: linear warm-up, then a cosine to lr/10) in PyTorch,
so that many variants can run side by side on one GPU for the number of steps
the CPU manages in the budget. The winner is then built into textgen and
measured there, on the CPU: this script only chooses what to build.

Variants (each off by default):
    --emb-dropout P   dropout on the embedding vectors (the LSTM's input)
    --weight-drop P   DropConnect on each LSTM's recurrent kernel, one mask per
                      batch (AWD-LSTM's "weight drop")
    --wd W            decoupled weight decay (AdamW) on every weight
    --ema D           also score an exponential moving average of the weights

    python scripts/torch_lstm_sweep.py corpora/tiny-shakespeare.txt --steps 7800 --dropout 0.5

Prints one JSON object per validation.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

DEV = "cuda" if torch.cuda.is_available() else "cpu"


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("corpus")
    p.add_argument("--name", default="run")
    p.add_argument("--steps", type=int, default=7800)
    p.add_argument("--embedding", type=int, default=256)
    p.add_argument("--units", type=int, default=512)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seq", type=int, default=100)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--emb-dropout", type=float, default=0.0)
    p.add_argument("--weight-drop", type=float, default=0.0)
    p.add_argument("--wd", type=float, default=0.0)
    p.add_argument("--ema", type=float, default=0.0)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--seed", type=int, default=1234)
    return p.parse_args()


def layout(ids: np.ndarray, rows: int, T: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Row i of batch k+1 continues row i of batch k; the last window may be shorter."""
    n = (len(ids) - 1) // rows * rows
    x, y = ids[:n].reshape(rows, -1), ids[1 : n + 1].reshape(rows, -1)
    return [(torch.from_numpy(x[:, i : i + T]), torch.from_numpy(y[:, i : i + T]))
            for i in range(0, x.shape[1], T)]


class Model(nn.Module):
    """Embedding -> [dropout] -> L x (LSTM -> dropout) -> Linear, textgen's network."""

    def __init__(self, a: argparse.Namespace, vocab: int):
        super().__init__()
        self.a = a
        self.embedding = nn.Embedding(vocab, a.embedding)
        sizes = [a.embedding] + [a.units] * a.layers
        self.lstms = nn.ModuleList(nn.LSTM(sizes[i], a.units, batch_first=True)
                                   for i in range(a.layers))
        self.out = nn.Linear(a.units, vocab)

    def forward(self, x, states):
        h = nn.functional.dropout(self.embedding(x), self.a.emb_dropout, self.training)
        new = []
        for lstm, state in zip(self.lstms, states, strict=True):
            if self.training and self.a.weight_drop > 0:
                params = dict(lstm.named_parameters())
                params["weight_hh_l0"] = nn.functional.dropout(
                    params["weight_hh_l0"], self.a.weight_drop, True)
                h, s = functional_call(lstm, params, (h, state))
            else:
                h, s = lstm(h, state)
            new.append(s)
            h = nn.functional.dropout(h, self.a.dropout, self.training)
        return self.out(h), new


def evaluate(model: nn.Module, batches, vocab: int) -> float:
    model.eval()
    states = [None] * model.a.layers
    total = n = 0.0
    with torch.no_grad():
        for x, y in batches:
            logits, states = model(x.to(DEV), states)
            total += nn.functional.cross_entropy(
                logits.reshape(-1, vocab), y.to(DEV).reshape(-1), reduction="sum").item()
            n += y.numel()
    model.train()
    return total / n


def main() -> None:
    a = parse()
    torch.manual_seed(a.seed)
    torch.backends.cudnn.benchmark = True
    text = open(a.corpus, encoding="utf-8").read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = np.array([stoi[c] for c in text], dtype=np.int64)
    n_val = int(len(ids) * 0.05)
    train, val = ids[: len(ids) - n_val], ids[len(ids) - n_val :]
    train_b, val_b = layout(train, a.batch, a.seq), layout(val, a.batch, a.seq)
    vocab = len(chars)
    model = Model(a, vocab).to(DEV)
    opt = torch.optim.AdamW(model.parameters(), a.lr, weight_decay=a.wd)
    ema = copy.deepcopy(model) if a.ema else None

    def lr_at(step: int) -> float:
        if step < a.warmup:
            return a.lr * (step + 1) / a.warmup
        t = (step - a.warmup) / max(1, a.steps - a.warmup)
        return a.lr / 10 + 0.5 * (1 + math.cos(math.pi * min(1.0, t))) * (a.lr - a.lr / 10)

    step, epoch, best, t0 = 0, 0, float("inf"), time.time()
    while step < a.steps:
        states = [None] * a.layers
        for x, y in train_b[:-1]:  # equal-length windows only
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            logits, states = model(x.to(DEV), states)
            states = [tuple(s.detach() for s in st) for st in states]
            loss = nn.functional.cross_entropy(logits.reshape(-1, vocab), y.to(DEV).reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if a.clip:
                nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            opt.step()
            step += 1
            if ema is not None:
                with torch.no_grad():
                    for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
                        pe.lerp_(pm, 1 - a.ema)
            if step % a.eval_every == 0 or step == a.steps:
                v = evaluate(model, val_b, vocab)
                best = min(best, v)
                row = {"name": a.name, "step": step, "epoch": epoch, "train": round(loss.item(), 4),
                       "val": round(v, 4), "best": round(best, 4), "s": round(time.time() - t0)}
                if ema is not None:
                    row["ema_val"] = round(evaluate(ema, val_b, vocab), 4)
                print(json.dumps(row), flush=True)
            if step >= a.steps:
                break
        epoch += 1


if __name__ == "__main__":
    main()
