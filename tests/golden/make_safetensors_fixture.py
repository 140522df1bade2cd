#!/usr/bin/python3
"""A tiny GPT-2 in Hugging Face's own format, for the C++ loader and exporter.

Regenerate (Debian's interpreter, which has torch 1.13; no `transformers` or
`safetensors` package is needed, the file is written by hand):

    /usr/bin/python3 tests/golden/make_safetensors_fixture.py

writes, under tests/golden/hf_gpt2_tiny/:

    model.safetensors  the parameters as GPT2LMHeadModel.state_dict() names them:
                       "transformer." prefix, Conv1D weights (in, out), the causal
                       mask buffers h.{i}.attn.bias and the tied lm_head.weight, all F32
    config.json        as transformers writes it for this model
    expected.json      tokens (B, T) and the logits (B, T, V) the model gives them

Check a model that our exporter wrote (the other half of the round trip):

    /usr/bin/python3 tests/golden/make_safetensors_fixture.py --check DIR

reads DIR/model.safetensors and DIR/config.json as Hugging Face would (names
with or without "transformer.", Conv1D layout, mask buffers ignored, lm_head
tied), checks the names, shapes and config a GPT2LMHeadModel needs, runs the same tokens and compares
the logits with expected.json (relative error under 1e-5, else exit status 1).

The model is the `Tiny` config of include/coconut/model/config.hpp: L=2 layers,
NH=2 heads, C=16, V=30 tokens (wte in the file has 30 rows; our padded
vocabulary of 32 is not the file's business), maxT=16 positions. Weights are
drawn "loud" (N(0, 0.2), LayerNorm weights 1 + N(0, 0.1)) so that a transposed
matrix or a swapped tensor changes the logits visibly; they are rounded to
float32 once, and the forward pass then runs in float64 on those exact values.
The forward pass is Hugging Face's GPT2LMHeadModel written out: GELU "gelu_new"
(tanh), LayerNorm eps 1e-5, causal attention scaled by 1/sqrt(hs), logits =
ln_f(x) @ wte^T.
"""

import json
import os
import struct
import sys
from collections import OrderedDict

import torch

L, NH, C, V, MAXT = 2, 2, 16, 30, 16
B, T = 2, 8
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "hf_gpt2_tiny")


# ---------------------------------------------------------------- the model
def make_parameters():
    """GPT2Model's state_dict names (no prefix) -> float32 tensors, Conv1D (in, out)."""
    g = torch.Generator().manual_seed(1234)

    def normal(*shape, std=0.2, mean=0.0):
        return (mean + std * torch.randn(*shape, generator=g, dtype=torch.float64)).float()

    p = OrderedDict()
    p["wte.weight"] = normal(V, C)
    p["wpe.weight"] = normal(MAXT, C)
    for i in range(L):
        h = f"h.{i}."
        p[h + "ln_1.weight"] = normal(C, std=0.1, mean=1.0)
        p[h + "ln_1.bias"] = normal(C, std=0.1)
        p[h + "attn.c_attn.weight"] = normal(C, 3 * C)  # Conv1D: (in, out)
        p[h + "attn.c_attn.bias"] = normal(3 * C, std=0.1)
        p[h + "attn.c_proj.weight"] = normal(C, C)
        p[h + "attn.c_proj.bias"] = normal(C, std=0.1)
        p[h + "ln_2.weight"] = normal(C, std=0.1, mean=1.0)
        p[h + "ln_2.bias"] = normal(C, std=0.1)
        p[h + "mlp.c_fc.weight"] = normal(C, 4 * C)
        p[h + "mlp.c_fc.bias"] = normal(4 * C, std=0.1)
        p[h + "mlp.c_proj.weight"] = normal(4 * C, C)
        p[h + "mlp.c_proj.bias"] = normal(C, std=0.1)
    p["ln_f.weight"] = normal(C, std=0.1, mean=1.0)
    p["ln_f.bias"] = normal(C, std=0.1)
    return p


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh((2.0 / torch.pi) ** 0.5 * (x + 0.044715 * x ** 3)))


def forward(p, tokens):
    """GPT2LMHeadModel's forward in float64: (B, T) ids -> (B, T, V) logits."""
    p = {k: v.double() for k, v in p.items()}
    ln = lambda x, name: torch.nn.functional.layer_norm(x, (C,), p[name + ".weight"], p[name + ".bias"], 1e-5)
    Bn, Tn = tokens.shape
    hs = C // NH
    x = p["wte.weight"][tokens] + p["wpe.weight"][torch.arange(Tn)]
    causal = torch.tril(torch.ones(Tn, Tn, dtype=torch.bool))
    for i in range(L):
        h = f"h.{i}."
        qkv = ln(x, h + "ln_1") @ p[h + "attn.c_attn.weight"] + p[h + "attn.c_attn.bias"]  # Conv1D: x W + b
        q, k, v = (t.view(Bn, Tn, NH, hs).transpose(1, 2) for t in qkv.split(C, dim=2))
        att = (q @ k.transpose(-2, -1)) / hs ** 0.5
        att = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(Bn, Tn, C)
        x = x + y @ p[h + "attn.c_proj.weight"] + p[h + "attn.c_proj.bias"]
        m = gelu_new(ln(x, h + "ln_2") @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"])
        x = x + m @ p[h + "mlp.c_proj.weight"] + p[h + "mlp.c_proj.bias"]
    return ln(x, "ln_f") @ p["wte.weight"].T


# ---------------------------------------------------------------- safetensors by hand
def write_safetensors(path, tensors, metadata):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, t in tensors.items():
        data = t.contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    """name -> float32 tensor, for F32 files (what our exporter writes)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", f"{path}: {name} has dtype {e['dtype']}"
        a, b = e["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(e["shape"])
    return out, header.get("__metadata__", {})


def hf_config():
    return {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
        "n_layer": L, "n_head": NH, "n_embd": C, "n_positions": MAXT, "n_ctx": MAXT, "vocab_size": V,
        "layer_norm_epsilon": 1e-05, "initializer_range": 0.02, "attn_pdrop": 0.1, "embd_pdrop": 0.1,
        "resid_pdrop": 0.1, "n_inner": None, "tie_word_embeddings": True, "torch_dtype": "float32",
    }


def fixed_tokens():
    g = torch.Generator().manual_seed(99)
    return torch.randint(0, V, (B, T), generator=g)


# ---------------------------------------------------------------- the two modes
def make():
    os.makedirs(OUT, exist_ok=True)
    p = make_parameters()
    state = OrderedDict()  # GPT2LMHeadModel.state_dict() order and names
    for name, t in p.items():
        state["transformer." + name] = t
        if name.endswith("ln_1.bias"):  # the causal-mask buffer that older checkpoints carry
            i = name.split(".")[1]
            state[f"transformer.h.{i}.attn.bias"] = torch.tril(torch.ones(MAXT, MAXT)).view(1, 1, MAXT, MAXT)
    state["lm_head.weight"] = p["wte.weight"]  # tied
    write_safetensors(os.path.join(OUT, "model.safetensors"), state, {"format": "pt"})
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(hf_config(), f, indent=2)
        f.write("\n")
    tokens = fixed_tokens()
    logits = forward(p, tokens)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"tokens": tokens.tolist(), "logits": logits.tolist()}, f)
        f.write("\n")
    # Our own reader on our own file, as a smoke test of the writer.
    back, meta = read_safetensors(os.path.join(OUT, "model.safetensors"))
    assert meta == {"format": "pt"} and all(torch.equal(back["transformer." + k], v) for k, v in p.items())
    for name in sorted(os.listdir(OUT)):
        print(f"{name}: {os.path.getsize(os.path.join(OUT, name))} bytes")


def check(directory):
    tensors, meta = read_safetensors(os.path.join(directory, "model.safetensors"))
    with open(os.path.join(directory, "config.json")) as f:
        cfg = json.load(f)
    problems = []
    if meta.get("format") != "pt":
        problems.append(f"__metadata__ format is {meta.get('format')!r}; transformers wants 'pt'")
    for key in ("n_layer", "n_head", "n_embd", "n_positions", "vocab_size"):
        if cfg.get(key) != hf_config()[key]:
            problems.append(f"config.json {key} = {cfg.get(key)}, expected {hf_config()[key]}")
    for key in ("model_type", "activation_function", "architectures"):
        if cfg.get(key) != hf_config()[key]:
            problems.append(f"config.json {key} = {cfg.get(key)!r}")
    names = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in tensors.items()}
    # Hugging Face ignores the causal-mask buffers and ties lm_head to wte.
    names = {k: v for k, v in names.items() if not k.endswith((".attn.bias", ".attn.masked_bias"))}
    if "lm_head.weight" in names and not torch.equal(names.pop("lm_head.weight"), names.get("wte.weight")):
        problems.append("lm_head.weight differs from wte.weight")
    expected_names = set(make_parameters())
    if set(names) != expected_names:
        problems.append(f"tensor names differ: extra {set(names) - expected_names}, missing {expected_names - set(names)}")
    for name, t in make_parameters().items():
        if name in names and names[name].shape != t.shape:
            problems.append(f"{name} has shape {tuple(names[name].shape)}, HF wants {tuple(t.shape)}")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    with open(os.path.join(HERE, "hf_gpt2_tiny", "expected.json")) as f:
        expected = json.load(f)
    logits = forward(names, torch.tensor(expected["tokens"]))
    ref = torch.tensor(expected["logits"], dtype=torch.float64)
    err = ((logits - ref).abs().max() / ref.abs().max()).item()
    print(f"{directory}: {len(tensors)} tensors, logits max relative error {err:.3e}")
    sys.exit(0 if err < 1e-5 else 1)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    elif len(sys.argv) == 1:
        make()
    else:
        sys.exit(__doc__)
