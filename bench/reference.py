#!/usr/bin/python3
"""PyTorch reference for the benchmarks in bench/: the same GPT-2, the same
training step, and the Coconut algorithm as its authors' code runs it.

Run with Debian's python3-torch (/usr/bin/python3). The C++ benchmark programs
start this script themselves, back to back with their own run, on the same data:
they write the batch (and, for the small models, the parameters) to files and pass
their paths. Standalone:

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/reference.py train --config tiny \
        --B 8 --T 128 --threads 2 --steps 20

Workloads
  train     plain training step: forward, cross-entropy, backward, AdamW.
  coconut   Coconut training step: the reference's n + 1 passes with a KV cache
            (past_key_values), thoughts fed back through a rebuilt inputs_embeds as
            facebookresearch/coconut's coconut.py does, then backward and AdamW.
  generate  the reference's inference: one prompt at a time (batch 1), the latent
            passes, then greedy decoding that recomputes the whole sequence for
            every new token (no KV cache).

Prints `key value` lines that the C++ programs read: median_ms, min_ms, steps,
peak_rss_mb, loss (first step), tokens (generate), threads.
"""
import argparse
import math
import resource
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {  # the C++ configs of the same names (bench/common.hpp, model/config.hpp)
    "tiny": dict(n_layer=4, n_head=4, n_embd=256, vocab_size=512, block_size=128),
    "small": dict(n_layer=4, n_head=4, n_embd=256, vocab_size=128, block_size=512),
    "gpt2": dict(n_layer=12, n_head=12, n_embd=768, vocab_size=50257, block_size=1024),
}


# ---- the model: GPT-2 (nanoGPT's shape, Hugging Face's names) ------------------------

class Attention(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)

    def forward(self, x, bias, past):
        # x (B, n, C) for positions [s, s+n); past: (k, v) of [0, s), each (B, NH, s, hs)
        B, n, C = x.shape
        hs = C // self.NH
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, n, self.NH, hs).transpose(1, 2)
        k = k.view(B, n, self.NH, hs).transpose(1, 2)
        v = v.view(B, n, self.NH, hs).transpose(1, 2)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs)) + bias  # (B, NH, n, s+n)
        y = F.softmax(att, dim=-1) @ v
        y = y.transpose(1, 2).contiguous().view(B, n, C)
        return self.c_proj(y), (k, v)


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C)
        self.attn = Attention(C, NH)
        self.ln_2 = nn.LayerNorm(C)
        self.mlp = nn.ModuleDict(dict(c_fc=nn.Linear(C, 4 * C), c_proj=nn.Linear(4 * C, C)))

    def forward(self, x, bias, past):
        a, kv = self.attn(self.ln_1(x), bias, past)
        x = x + a
        x = x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh"))
        return x, kv


class GPT(nn.Module):
    def __init__(self, n_layer, n_head, n_embd, vocab_size, block_size):
        super().__init__()
        self.V = vocab_size
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.h = nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        for name, p in self.named_parameters():  # GPT-2's initialisation
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif "ln_" in name:
                nn.init.ones_(p)
            else:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith("c_proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, inputs_embeds, position_ids, attention_mask, past=None):
        """inputs_embeds (B, n, C) for positions [s, s+n), s = length of `past`;
        attention_mask (B, s+n), 1 real, 0 padding. Returns logits (B, n, V), the
        final hidden states (ln_f output) and the new key/value cache."""
        B, n, _ = inputs_embeds.shape
        S = attention_mask.shape[1]
        s = S - n
        causal = torch.arange(S).view(1, S) <= (torch.arange(n) + s).view(n, 1)  # (n, S)
        allowed = causal.view(1, 1, n, S) & attention_mask.bool().view(B, 1, 1, S)
        bias = torch.zeros(B, 1, n, S).masked_fill_(~allowed, -1e9)
        x = inputs_embeds + self.wpe(position_ids)
        presents = []
        for i, block in enumerate(self.h):
            x, kv = block(x, bias, past[i] if past is not None else None)
            presents.append(kv)
        hidden = self.ln_f(x)
        return F.linear(hidden, self.wte.weight), hidden, presents


def load_params(model, path):
    """Parameters written by the C++ side (bench/common.hpp, write_params)."""
    params = dict(model.named_parameters())
    rename = {"wte": "wte.weight", "wpe": "wpe.weight"}
    with open(path, "rb") as f, torch.no_grad():
        (count,) = struct.unpack("<i", f.read(4))
        for _ in range(count):
            (length,) = struct.unpack("<i", f.read(4))
            name = f.read(length).decode()
            (ndim,) = struct.unpack("<i", f.read(4))
            shape = struct.unpack("<%dq" % ndim, f.read(8 * ndim))
            data = np.frombuffer(f.read(4 * int(np.prod(shape))), dtype=np.float32).reshape(shape)
            name = rename.get(name, name)
            p = params[name]
            rows = p.shape[0]
            p.copy_(torch.from_numpy(data[:rows].copy()))  # wte: drop the padded rows


def load_batch(path):
    """A batch written by the C++ side: int32 B, T, latent_id, then tokens,
    positions, mask, targets, each (B, T) int32."""
    raw = np.fromfile(path, dtype=np.int32)
    B, T, latent_id = raw[:3]
    body = raw[3:].reshape(4, B, T)
    as_long = lambda a: torch.from_numpy(a.astype(np.int64))
    return dict(B=int(B), T=int(T), latent_id=int(latent_id), tokens=as_long(body[0]), positions=as_long(body[1]),
                mask=as_long(body[2]), targets=as_long(body[3]))


# ---- the workloads --------------------------------------------------------------------

def plain_loss(model, batch):
    embeds = model.wte(batch["tokens"])
    logits, _, _ = model(embeds, batch["positions"], batch["mask"])
    return F.cross_entropy(logits.reshape(-1, model.V), batch["targets"].reshape(-1), ignore_index=-100)


def coconut_forward(model, tokens, positions, mask, latent_id):
    """The reference's forward: n + 1 passes over a KV cache, thoughts fed back
    by rebuilding inputs_embeds (nothing detached). Returns logits (B, T, V) and
    the final inputs_embeds (with the thoughts in place)."""
    B, T = tokens.shape
    latent_lists = [(tokens[b] == latent_id).nonzero().flatten().tolist() for b in range(B)]
    max_n = max(len(l) for l in latent_lists)
    inputs_embeds = model.wte(tokens)
    start = min(l[0] for l in latent_lists if l) if max_n else T
    compute = (0, start)
    kv, logits = None, []
    for pass_idx in range(max_n):
        s, e = compute
        past = None if kv is None else [(k[:, :, :s], v[:, :, :s]) for k, v in kv]
        out, hidden, kv = model(inputs_embeds[:, s:e], positions[:, s:e], mask[:, :e], past)
        logits.append(out)
        offset = s
        compute = (e, T if pass_idx + 1 >= max_n else e + 1)
        # feed back: thought pass_idx of each row = hidden state before its latent
        tensor_list = [[inputs_embeds[b, t] for t in range(T)] for b in range(B)]
        for b, l in enumerate(latent_lists):
            if len(l) > pass_idx:
                t = l[pass_idx]
                tensor_list[b][t] = hidden[b, t - 1 - offset]
        inputs_embeds = torch.stack([torch.stack(row) for row in tensor_list])
    s, e = compute
    past = None if kv is None else [(k[:, :, :s], v[:, :, :s]) for k, v in kv]
    out, _, _ = model(inputs_embeds[:, s:e], positions[:, s:e], mask[:, :e], past)
    logits.append(out)
    return torch.cat(logits, dim=1), inputs_embeds


def coconut_loss(model, batch):
    logits, _ = coconut_forward(model, batch["tokens"], batch["positions"], batch["mask"], batch["latent_id"])
    return F.cross_entropy(logits.reshape(-1, model.V), batch["targets"].reshape(-1), ignore_index=-100)


@torch.no_grad()
def generate_one(model, prompt, latent_id, eos_id, max_new_tokens):
    """The reference's generate(): batch 1; the latent passes, then each new token
    recomputes the whole sequence."""
    tokens = prompt.view(1, -1)
    n = tokens.shape[1]
    positions = torch.arange(n).view(1, n)
    mask = torch.ones(1, n, dtype=torch.long)
    logits, embeds = coconut_forward(model, tokens, positions, mask, latent_id)
    next_token = int(logits[0, -1].argmax())
    out = [next_token]
    embeds = torch.cat([embeds, model.wte(torch.tensor([[next_token]]))], dim=1)
    for _ in range(max_new_tokens - 1):
        if next_token == eos_id:
            break
        n = embeds.shape[1]
        logits, _, _ = model(embeds, torch.arange(n).view(1, n), torch.ones(1, n, dtype=torch.long))
        next_token = int(logits[0, -1].argmax())
        out.append(next_token)
        embeds = torch.cat([embeds, model.wte(torch.tensor([[next_token]]))], dim=1)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workload", choices=["train", "coconut", "generate"])
    ap.add_argument("--config", choices=sorted(CONFIGS), required=True)
    ap.add_argument("--batch", help="batch file written by the C++ program (else random tokens)")
    ap.add_argument("--params", help="parameter file written by the C++ program (else GPT-2 init)")
    ap.add_argument("--B", type=int, default=8)
    ap.add_argument("--T", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--eos", type=int, default=0)
    ap.add_argument("--max-new-tokens", type=int, default=16)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = GPT(**CONFIGS[args.config])
    if args.params:
        load_params(model, args.params)
    if args.batch:
        batch = load_batch(args.batch)
    else:
        g = torch.Generator().manual_seed(0)
        tokens = torch.randint(0, model.V, (args.B, args.T + 1), generator=g)
        batch = dict(B=args.B, T=args.T, latent_id=-1, tokens=tokens[:, :-1], targets=tokens[:, 1:],
                     positions=torch.arange(args.T).expand(args.B, args.T), mask=torch.ones(args.B, args.T))

    if args.workload in ("train", "coconut"):
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
        loss_fn = plain_loss if args.workload == "train" else coconut_loss

        def step():
            loss = loss_fn(model, batch)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            return float(loss)
    else:
        # Prompts: each row of the batch up to its last real token, padding removed.
        prompts = []
        for b in range(batch["B"]):
            real = batch["mask"][b].bool()
            prompts.append(batch["tokens"][b][real])
        generated = [0, []]

        def step():
            generated[0] = 0
            for i, p in enumerate(prompts):
                out = generate_one(model, p, batch["latent_id"], args.eos, args.max_new_tokens)
                generated[0] += len(out)
                if i == 0:
                    generated[1] = out
            return float("nan")

    first_loss = step()  # also the first warm-up step
    for _ in range(args.warmup - 1):
        step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)

    print("threads", args.threads)
    print("steps", args.steps)
    print("median_ms %.3f" % statistics.median(times))
    print("min_ms %.3f" % min(times))
    print("loss %.6f" % first_loss)
    if args.workload == "generate":
        print("tokens", generated[0])
        print("decoded0", " ".join(map(str, generated[1])))
    print("peak_rss_mb %.1f" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
