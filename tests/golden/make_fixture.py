#!/usr/bin/python3
"""Golden-reference fixture for the coconut C++ tests.

What this script does
=====================
It builds a *tiny* GPT-2 from scratch in plain PyTorch (no `transformers`),
entirely in float64, and records what that model computes so that the C++
implementation can be checked number-for-number against an independent
reference.  Everything is deterministic (`torch.manual_seed(0)`), so running
the script again reproduces the same file bit-for-bit on the same PyTorch.

Regenerate with (Debian's interpreter, which has torch 1.13 installed):

    /usr/bin/python3 tests/golden/make_fixture.py

It writes `tests/golden/gpt2_tiny.bin` next to this script, then reads the
file back, checks that it round-trips, and prints the record names and losses.

The model
---------
    L=2 layers, NH=2 heads, C=16 channels (head size hs = C/NH = 8),
    V=30 real vocabulary entries padded to Vp=32, block size maxT=16.

Parameters use GPT-2's names; Linear weights are in `nn.Linear` layout
(out_features, in_features), i.e. `y = x @ W^T + b`:

    wte (Vp,C)  -- rows V..Vp-1 are zero (padding rows); also the LM head
    wpe (maxT,C)
    h.{l}.ln_1.weight/bias (C)        h.{l}.attn.c_attn.weight (3C,C) / bias (3C)
    h.{l}.attn.c_proj.weight (C,C)    h.{l}.attn.c_proj.bias (C)
    h.{l}.ln_2.weight/bias (C)        h.{l}.mlp.c_fc.weight (4C,C) / bias (4C)
    h.{l}.mlp.c_proj.weight (C,4C)    h.{l}.mlp.c_proj.bias (C)
    ln_f.weight/bias (C)

Initialisation is deliberately "loud" so that the tests are sensitive to
mistakes: weights ~ N(0, 0.2), biases ~ N(0, 0.1), LayerNorm weights
~ 1 + N(0, 0.1), LayerNorm biases ~ N(0, 0.1); then padding rows of wte are
zeroed.

Forward pass (per batch of B rows, T positions):
    x = tok_emb + wpe[positions]          (tok_emb = wte[tokens] unless overridden)
    for each block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
    hidden = ln_f(x);  logits = hidden @ wte^T     (all Vp columns)
    loss = cross-entropy over the first V logit columns, ignore_index=-100,
           mean over all non-ignored targets of the batch.
LayerNorm uses eps=1e-5 and the biased variance.  GELU is the tanh
approximation.  In attention, query i may look at key j iff j <= i and
mask[b,j] == 1; a padding query (mask[b,i] == 0) gets all-zero attention
probabilities, so its attention output is exactly 0.

Part 1 -- plain batch (B=2, T=8)
--------------------------------
Row 0 has no padding.  Row 1 is LEFT-padded by 2:
positions = [0,0,0,1,2,3,4,5], mask = [0,0,1,1,1,1,1,1], pad tokens are 0.
Tokens are random in [0, V-2] (id V-1 = 29 is reserved for the latent token).
targets[b,t] = tokens[b,t+1] at real positions t < T-1, and -100 at t=T-1,
at padding positions, and additionally at (0,2) to exercise ignore_index.
Recorded: logits, hidden (after ln_f), loss, d loss / d param for every
parameter, and every parameter after two steps of `torch.optim.AdamW`
(lr=1e-2, betas=(0.9,0.95), eps=1e-8, weight_decay=0.1 only on tensors with
dim >= 2, i.e. wte, wpe and the Linear weights; no gradient clipping; the
gradient is recomputed at the updated parameters before the second step).

Part 2 -- Coconut / continuous thought (B=2, T=10), same initial parameters
---------------------------------------------------------------------------
Special ids: bot=27, eot=28, latent LAT=29.
    row 0: q q q bot LAT LAT LAT eot a a      (positions 0..9, no padding)
    row 1: pad q q bot LAT LAT eot a a a      (left-padded by 1:
           mask [0,1,...,1], positions [0,0,1,...,8])
Question/answer tokens are random in [0, 26] (so they never collide with the
special ids).  Both rows have their first latent at t=4.  targets are
tokens[b,t+1] for t from the eot position up to T-2 (t=7..8 for row 0,
t=6..8 for row 1) and -100 everywhere else.

A latent at position p uses, instead of wte[LAT], the final hidden state
(after ln_f) at position p-1, computed with all earlier latents already
filled in.  The reference does this the simple way, without a KV cache:
start from emb = wte[tokens]; for i in 0..2 run the full forward on emb and
write hidden[b, p_i - 1] into a *new* embedding tensor at every row's i-th
latent position p_i; finally run one more full forward for logits and loss.
Nothing is detached, so gradients flow back through every fed-back thought.

Before writing, the script checks: (a) central finite differences of the
Coconut loss agree with autograd for several parameter entries, and the
gradient differs from one where the thoughts are detached; (b) the Coconut
loss differs from the loss with latents left as wte[LAT]; (c) the
left-padded row gives the same hidden states as the same sequence run
without padding.

File format (little-endian)
---------------------------
    8 bytes magic b"COCOFIX1", then records until EOF, each:
        uint32 name_len; name (ASCII, no terminator);
        uint32 ndim; ndim x int64 dims;
        uint8 dtype (0 = float64, 1 = int32);
        prod(dims) values, row-major.
Record order:
    config (int32, [L, NH, C, V, Vp, maxT]);
    <param> ... (initial parameters, in the order listed above);
    tokens, positions, mask, targets (int32, (B,T));
    logits (B,T,Vp), hidden (B,T,C), loss (1,);
    grad.<param> ...;  step2.<param> ...;
    coconut.tokens, coconut.positions, coconut.mask, coconut.targets (int32),
    coconut.logits, coconut.hidden, coconut.loss, coconut.grad.<param> ...
`read_fixture(path)` at the bottom of this file is a reference reader.
"""

import math
import os
import struct
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

# ---------------------------------------------------------------- config
L, NH, C, V, VP, MAXT = 2, 2, 16, 30, 32, 16
HS = C // NH
BOT, EOT, LAT = 27, 28, 29
IGNORE = -100
HERE = os.path.dirname(os.path.abspath(__file__))
OUT_PATH = os.path.join(HERE, "gpt2_tiny.bin")
MAGIC = b"COCOFIX1"


# ---------------------------------------------------------------- parameters
def param_shapes():
    """(name, shape) for every parameter, in fixture order."""
    shapes = [("wte", (VP, C)), ("wpe", (MAXT, C))]
    for l in range(L):
        p = f"h.{l}."
        shapes += [
            (p + "ln_1.weight", (C,)), (p + "ln_1.bias", (C,)),
            (p + "attn.c_attn.weight", (3 * C, C)), (p + "attn.c_attn.bias", (3 * C,)),
            (p + "attn.c_proj.weight", (C, C)), (p + "attn.c_proj.bias", (C,)),
            (p + "ln_2.weight", (C,)), (p + "ln_2.bias", (C,)),
            (p + "mlp.c_fc.weight", (4 * C, C)), (p + "mlp.c_fc.bias", (4 * C,)),
            (p + "mlp.c_proj.weight", (C, 4 * C)), (p + "mlp.c_proj.bias", (C,)),
        ]
    shapes += [("ln_f.weight", (C,)), ("ln_f.bias", (C,))]
    return shapes


def init_params():
    params = OrderedDict()
    for name, shape in param_shapes():
        is_ln = ".ln_" in name or name.startswith("ln_f")
        if is_ln and name.endswith("weight"):
            t = 1.0 + 0.1 * torch.randn(shape)
        elif name.endswith("bias"):
            t = 0.1 * torch.randn(shape)
        else:  # wte, wpe, Linear weights
            t = 0.2 * torch.randn(shape)
        params[name] = t
    params["wte"][V:] = 0.0  # padding rows of the vocabulary
    return params


def leaf_copy(params):
    """Fresh leaf tensors with requires_grad, so each use has its own .grad."""
    return OrderedDict((k, v.detach().clone().requires_grad_(True)) for k, v in params.items())


# ---------------------------------------------------------------- model
def layernorm(x, w, b, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)  # biased variance
    return (x - mean) / torch.sqrt(var + eps) * w + b


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def attention(x, p, pre, mask):
    B, T, _ = x.shape
    qkv = x @ p[pre + "c_attn.weight"].T + p[pre + "c_attn.bias"]
    q, k, v = qkv.split(C, dim=2)
    q = q.view(B, T, NH, HS).transpose(1, 2)  # (B, NH, T, hs)
    k = k.view(B, T, NH, HS).transpose(1, 2)
    v = v.view(B, T, NH, HS).transpose(1, 2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(HS)  # (B, NH, T, T)

    real = mask.bool()
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    # allowed[b, i, j]: query i (a real token) may attend to real key j <= i.
    allowed = causal[None] & real[:, None, :] & real[:, :, None]
    allowed = allowed[:, None]  # broadcast over heads
    empty = ~allowed.any(-1, keepdim=True)  # padding queries: no key at all
    scores = scores.masked_fill(~allowed, float("-inf")).masked_fill(empty, 0.0)
    att = F.softmax(scores, dim=-1) * allowed  # padding queries -> all zeros

    y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
    return y @ p[pre + "c_proj.weight"].T + p[pre + "c_proj.bias"]


def mlp(x, p, pre):
    h = gelu_tanh(x @ p[pre + "c_fc.weight"].T + p[pre + "c_fc.bias"])
    return h @ p[pre + "c_proj.weight"].T + p[pre + "c_proj.bias"]


def forward(p, emb, positions, mask):
    """emb: (B,T,C) token embeddings. Returns (hidden after ln_f, logits)."""
    x = emb + p["wpe"][positions]
    for l in range(L):
        pre = f"h.{l}."
        x = x + attention(layernorm(x, p[pre + "ln_1.weight"], p[pre + "ln_1.bias"]),
                          p, pre + "attn.", mask)
        x = x + mlp(layernorm(x, p[pre + "ln_2.weight"], p[pre + "ln_2.bias"]),
                    p, pre + "mlp.")
    hidden = layernorm(x, p["ln_f.weight"], p["ln_f.bias"])
    logits = hidden @ p["wte"].T  # tied LM head, all Vp columns
    return hidden, logits


def lm_loss(logits, targets):
    return F.cross_entropy(logits[..., :V].reshape(-1, V), targets.reshape(-1),
                           ignore_index=IGNORE)


def coconut_forward(p, tokens, positions, mask, feedback=True, detach_thoughts=False):
    """Continuous-thought forward: latent i is the hidden state before it."""
    emb = p["wte"][tokens]
    # latent positions per row, in order
    lat_pos = [(tokens[b] == LAT).nonzero().flatten().tolist() for b in range(tokens.shape[0])]
    n_passes = max(len(lp) for lp in lat_pos)
    if feedback:
        for i in range(n_passes):
            hidden, _ = forward(p, emb, positions, mask)
            new_emb = emb.clone()  # out of place w.r.t. emb; autograd flows
            for b, lp in enumerate(lat_pos):
                if i < len(lp):
                    pos = lp[i]
                    thought = hidden[b, pos - 1]
                    new_emb[b, pos] = thought.detach() if detach_thoughts else thought
            emb = new_emb
    return forward(p, emb, positions, mask)


# ---------------------------------------------------------------- data
def part1_batch():
    B, T = 2, 8
    tokens = torch.randint(0, V - 1, (B, T))  # ids 0..V-2
    positions = torch.tensor([list(range(T)), [0, 0, 0, 1, 2, 3, 4, 5]])
    mask = torch.tensor([[1] * T, [0, 0, 1, 1, 1, 1, 1, 1]])
    tokens[mask == 0] = 0
    targets = torch.full((B, T), IGNORE, dtype=torch.long)
    targets[:, :-1] = tokens[:, 1:]
    targets[mask == 0] = IGNORE
    targets[0, 2] = IGNORE
    return tokens, positions, mask, targets


def part2_batch():
    B, T = 2, 10
    r = lambda n: torch.randint(0, BOT, (n,)).tolist()  # ids 0..26
    row0 = r(3) + [BOT, LAT, LAT, LAT, EOT] + r(2)
    row1 = [0] + r(2) + [BOT, LAT, LAT, EOT] + r(3)
    tokens = torch.tensor([row0, row1])
    positions = torch.tensor([list(range(T)), [0] + list(range(T - 1))])
    mask = torch.tensor([[1] * T, [0] + [1] * (T - 1)])
    targets = torch.full((B, T), IGNORE, dtype=torch.long)
    for b in range(B):
        eot = tokens[b].tolist().index(EOT)
        targets[b, eot:T - 1] = tokens[b, eot + 1:T]
    return tokens, positions, mask, targets


# ---------------------------------------------------------------- checks
def check_padding_invariance(p0, tokens, positions, mask):
    """Row 1 (left-padded) must match the same sequence run without padding."""
    with torch.no_grad():
        h_pad, _ = forward(p0, p0["wte"][tokens], positions, mask)
        real = mask[1].bool()
        t1, pos1 = tokens[1:, real], positions[1:, real]
        h_alone, _ = forward(p0, p0["wte"][t1], pos1, torch.ones_like(t1))
    err = (h_pad[1, real] - h_alone[0]).abs().max().item()
    assert err < 1e-12, f"padding changes real positions: {err}"
    print(f"check: left padding invariance, max |diff| = {err:.2e}")


def check_coconut_grads(p0, tokens, positions, mask, targets, grads):
    """Central differences of the coconut loss vs autograd, a few entries."""
    probes = [("wte", (5, 3)), ("wte", (LAT, 0)), ("wpe", (4, 7)),
              ("h.0.attn.c_attn.weight", (17, 2)), ("h.1.mlp.c_fc.weight", (40, 9)),
              ("ln_f.weight", (6,)), ("ln_f.bias", (11,))]
    h = 1e-5
    with torch.no_grad():
        for name, idx in probes:
            def loss_at(delta):
                q = OrderedDict((k, v.detach().clone()) for k, v in p0.items())
                q[name][idx] += delta
                return lm_loss(coconut_forward(q, tokens, positions, mask)[1], targets).item()
            fd = (loss_at(h) - loss_at(-h)) / (2 * h)
            ag = grads[name][idx].item()
            err = abs(fd - ag) / max(1e-8, abs(fd) + abs(ag))
            print(f"check: d coconut.loss / d {name}{list(idx)}: autograd {ag:+.10f}"
                  f"  finite-diff {fd:+.10f}  rel err {err:.1e}")
            assert err < 1e-6, (name, idx, fd, ag)

    # The fed-back thoughts must carry gradient: detaching them must change it.
    pd = leaf_copy(p0)
    lm_loss(coconut_forward(pd, tokens, positions, mask, detach_thoughts=True)[1],
            targets).backward()
    diff = max((pd[k].grad - grads[k]).abs().max().item() for k in p0)
    assert diff > 1e-6, "gradient does not flow through continuous thoughts"
    print(f"check: detaching thoughts changes grads by up to {diff:.3e}")


# ---------------------------------------------------------------- writer
def write_record(f, name, arr):
    arr = np.asarray(arr)
    if arr.dtype.kind == "f":
        dtype, data = 0, np.ascontiguousarray(arr, dtype="<f8")
    else:
        dtype, data = 1, np.ascontiguousarray(arr, dtype="<i4")
        assert np.array_equal(data, arr), f"{name}: int values do not fit in int32"
    nb = name.encode("ascii")
    f.write(struct.pack("<I", len(nb)))
    f.write(nb)
    f.write(struct.pack("<I", data.ndim))
    f.write(struct.pack(f"<{data.ndim}q", *data.shape))
    f.write(struct.pack("<B", dtype))
    f.write(data.tobytes(order="C"))


def np_of(t):
    return t.detach().cpu().numpy()


# ---------------------------------------------------------------- main
def main():
    torch.manual_seed(0)
    p0 = init_params()
    records = [("config", np.array([L, NH, C, V, VP, MAXT], dtype=np.int32))]
    records += [(k, np_of(v)) for k, v in p0.items()]

    # ---- Part 1: plain batch
    tokens, positions, mask, targets = part1_batch()
    check_padding_invariance(p0, tokens, positions, mask)
    p = leaf_copy(p0)
    hidden, logits = forward(p, p["wte"][tokens], positions, mask)
    loss = lm_loss(logits, targets)
    loss.backward()
    records += [("tokens", np_of(tokens)), ("positions", np_of(positions)),
                ("mask", np_of(mask)), ("targets", np_of(targets)),
                ("logits", np_of(logits)), ("hidden", np_of(hidden)),
                ("loss", np_of(loss).reshape(1))]
    records += [("grad." + k, np_of(v.grad)) for k, v in p.items()]

    # two AdamW steps; weight decay only on tensors with dim >= 2
    p = leaf_copy(p0)
    decay = [v for v in p.values() if v.dim() >= 2]
    no_decay = [v for v in p.values() if v.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-2, betas=(0.9, 0.95), eps=1e-8)
    for _ in range(2):
        opt.zero_grad()
        lm_loss(forward(p, p["wte"][tokens], positions, mask)[1], targets).backward()
        opt.step()
    assert p["wte"][V:].abs().max().item() == 0.0  # padding rows stay zero
    records += [("step2." + k, np_of(v)) for k, v in p.items()]

    # ---- Part 2: Coconut
    ctok, cpos, cmask, ctgt = part2_batch()
    p = leaf_copy(p0)
    chidden, clogits = coconut_forward(p, ctok, cpos, cmask)
    closs = lm_loss(clogits, ctgt)
    closs.backward()
    cgrads = OrderedDict((k, v.grad.detach().clone()) for k, v in p.items())
    check_coconut_grads(p0, ctok, cpos, cmask, ctgt, cgrads)
    with torch.no_grad():
        plain = lm_loss(coconut_forward(p0, ctok, cpos, cmask, feedback=False)[1], ctgt).item()
    print(f"check: coconut loss {closs.item():.12f} vs latents-as-wte[LAT] {plain:.12f}")
    assert abs(closs.item() - plain) > 1e-6, "feeding back thoughts changed nothing"

    records += [("coconut.tokens", np_of(ctok)), ("coconut.positions", np_of(cpos)),
                ("coconut.mask", np_of(cmask)), ("coconut.targets", np_of(ctgt)),
                ("coconut.logits", np_of(clogits)), ("coconut.hidden", np_of(chidden)),
                ("coconut.loss", np_of(closs).reshape(1))]
    records += [("coconut.grad." + k, v.numpy()) for k, v in cgrads.items()]

    with open(OUT_PATH, "wb") as f:
        f.write(MAGIC)
        for name, arr in records:
            write_record(f, name, arr)

    # ---- round trip
    back = read_fixture(OUT_PATH)
    assert list(back) == [n for n, _ in records]
    for name, arr in records:
        assert back[name].shape == arr.shape and np.array_equal(back[name], arr), name
    print(f"wrote {OUT_PATH} ({os.path.getsize(OUT_PATH)} bytes, {len(back)} records)")
    for name, arr in back.items():
        print(f"  {name:32s} {'float64' if arr.dtype == np.float64 else 'int32  '} "
              f"{tuple(arr.shape)}")
    print(f"loss         = {back['loss'][0]:.15f}")
    print(f"coconut.loss = {back['coconut.loss'][0]:.15f}")


# ---------------------------------------------------------------- reader
def read_fixture(path):
    """Read a COCOFIX1 file into an ordered {name: numpy array}."""
    out = OrderedDict()
    with open(path, "rb") as f:
        buf = f.read()
    assert buf[:8] == MAGIC, "bad magic"
    off = 8
    while off < len(buf):
        (n,) = struct.unpack_from("<I", buf, off); off += 4
        name = buf[off:off + n].decode("ascii"); off += n
        (ndim,) = struct.unpack_from("<I", buf, off); off += 4
        dims = struct.unpack_from(f"<{ndim}q", buf, off); off += 8 * ndim
        (dtype,) = struct.unpack_from("<B", buf, off); off += 1
        np_dtype = {0: np.dtype("<f8"), 1: np.dtype("<i4")}[dtype]
        count = int(np.prod(dims, dtype=np.int64))
        arr = np.frombuffer(buf, dtype=np_dtype, count=count, offset=off).reshape(dims)
        off += count * np_dtype.itemsize
        out[name] = arr.copy()
    return out


if __name__ == "__main__":
    main()
