#!/usr/bin/env python3
"""Rewrites the per-epoch tables of docs/RESULTS.md from the committed run logs:
everything between the first run's heading and "## What the continuous thoughts
hold" is replaced by `runs/summarize.py` over the runs listed here, in this order.
Add a run here when it is written about.   python3 runs/regen_results.py"""
import pathlib
import subprocess
import sys

RUNS = """
prosqa-cot-lr1e-3/cot prosqa-cot-sinusoidal/cot prosqa-cot-nodes12/cot prosqa-cot-nodes12-data5x/cot
prosqa-cot-nodes12-small/cot prosqa-cot-nodes12-lr3e-3/cot prosqa-cot-nodes12-rotary/cot
prosqa-cot-nodes12-rotary-h8/cot prosqa-cot-nodes12-mixed/cot prosqa-coconut-nodes12-mixed/coconut
prosqa-no-cot-nodes12-mixed/no-cot
prosqa-coconut-grow16/coconut prosqa-coconut-grow20/coconut prosqa-coconut-grow24/coconut prosqa-coconut-grow28/coconut
prosqa-cot-grow16/cot prosqa-cot-grow20/cot prosqa-cot-grow24/cot prosqa-cot-grow28/cot
prosqa-no-cot-grow16/no-cot prosqa-no-cot-grow20/no-cot prosqa-no-cot-grow24/no-cot prosqa-no-cot-grow28/no-cot
prosqa-pause-as-thought-nodes12-mixed/pause-as-thought prosqa-pause-as-thought-grow16/pause-as-thought
prosqa-pause-as-thought-grow20/pause-as-thought prosqa-pause-as-thought-grow24/pause-as-thought
prosqa-pause-as-thought-grow28/pause-as-thought
prosqa-no-curriculum-nodes12-mixed/no-curriculum prosqa-no-curriculum-grow16/no-curriculum
prosqa-no-curriculum-grow20/no-curriculum prosqa-no-curriculum-grow24/no-curriculum
prosqa-no-curriculum-grow28/no-curriculum
prosqa-coconut-from12/coconut prosqa-cot-nodes12-wide-mixed/cot
prosqa-cot-rotary/cot prosqa-cot-mixed/cot prosqa-cot-mixed-from12/cot prosqa-coconut-final/coconut
prosqa-pause-as-thought/pause-as-thought
prosqa-cot-batch8/cot prosqa-no-cot/no-cot prosqa-coconut/coconut prosqa-coconut-b2/coconut prosqa-cot-lr3e-3/cot
prosqa-mini/coconut
""".split()

root = pathlib.Path(__file__).resolve().parent.parent
logs = [f"runs/{run}.jsonl.gz" for run in RUNS if (root / f"runs/{run}.jsonl.gz").exists()]
missing = sorted(set(RUNS) - {log[5:-9] for log in logs})
if missing:
    print("no log yet (left out):", " ".join(missing), file=sys.stderr)
out = subprocess.run([sys.executable, "runs/summarize.py", *logs], capture_output=True, text=True, cwd=root)
if out.returncode != 0:
    sys.exit(out.stderr)
results = root / "docs/RESULTS.md"
text = results.read_text()
first = text.index(f"### {logs[0]}")
end = text.index("## What the continuous thoughts hold")
results.write_text(text[:first] + out.stdout.strip() + "\n\n" + text[end:])
print(f"docs/RESULTS.md: {len(logs)} runs' tables")
