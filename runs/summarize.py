#!/usr/bin/env python3
"""Summarises coconut_train JSONL logs: per epoch, the stage, mean training loss,
the teacher-forced loss on the validation samples (logged from session 4 on),
validation accuracy (exact match; for ProsQA logs that record them, the share of
answers naming the target rather than the distractor, the share of written
reasoning steps that are edges of the question's graph, and the teacher-forced
probability of a child of X where a step's Y is due: train/edge_lookup.hpp), and
the training compute spent so far (tokens through the model, and training wall
time), as a Markdown table.

    python3 runs/summarize.py runs/prosqa-no-cot/no-cot.jsonl [more.jsonl(.gz) ...]

A resumed run appends to its log, so a log may hold steps written twice (the steps
after the last checkpoint before an interruption, done again after resuming): the
later record of a step wins, and its time restarts from the resumption, which this
script accounts for by summing the time between consecutive records of a process.
"""
import gzip
import json
import sys
from collections import namedtuple

Eval = namedtuple("Eval", "stage loss accuracy generated choice edge_steps lookup")


def read(path):
    steps, evals, skipped = {}, {}, 0
    wall, last_time = 0.0, None
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        for line in f:
            try:
                r = json.loads(line)
            except json.JSONDecodeError:  # a line cut by an interruption
                skipped += 1
                continue
            t = r.get("time", 0.0)
            # time restarts at 0 in a resumed process: count only forward gaps.
            if last_time is not None and t >= last_time:
                wall += t - last_time
            last_time = t
            if r["kind"] == "step":
                steps[r["step"]] = (r["epoch"], r["stage"], r["loss"], r["tokens"], wall)
            else:
                evals[r["epoch"]] = Eval(r["stage"], r.get("loss"), r["accuracy"], r["mean_generated_tokens"], r.get("choice"),
                                         r.get("edge_steps"), r.get("lookup"))
    return steps, evals, skipped


def summarize(path):
    steps, evals, skipped = read(path)
    print(f"### {path}\n")
    print("| epoch | stage | mean loss | validation loss | validation accuracy | chose the target | steps that are edges "
          "| lookup | generated tokens | tokens so far | hours so far |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    by_epoch, tokens = {}, 0
    for step in sorted(steps):
        epoch, stage, loss, n, wall = steps[step]
        tokens += n
        e = by_epoch.setdefault(epoch, {"stage": stage, "loss": [], "tokens": 0, "wall": 0})
        e["loss"].append(loss)
        e["tokens"] = tokens
        e["wall"] = wall
    for epoch in sorted(by_epoch):
        e = by_epoch[epoch]
        vloss, acc, choice, edges, lookup, gen = "", "", "", "", "", ""
        if epoch in evals:
            v = evals[epoch]
            acc = f"{100 * v.accuracy:.1f}%"
            if v.loss is not None:
                vloss = f"{v.loss:.3f}"
            gen = f"{v.generated:.1f}"
            if v.choice is not None:
                choice = f"{100 * v.choice:.1f}%"
            if v.edge_steps is not None:
                edges = f"{100 * v.edge_steps:.1f}%"
            if v.lookup is not None:
                lookup = f"{100 * v.lookup:.1f}%"
        mean = sum(e["loss"]) / len(e["loss"])
        print(f"| {epoch} | {e['stage']} | {mean:.3f} | {vloss} | {acc} | {choice} | {edges} | {lookup} | {gen} | {e['tokens'] / 1e6:.1f}M "
              f"| {e['wall'] / 3600:.2f} |")
    if skipped:
        print(f"\n({skipped} cut lines skipped)")
    print()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for p in sys.argv[1:]:
        summarize(p)
