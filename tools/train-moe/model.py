"""A Qwen3-MoE decoder in PyTorch with exactly llama.cpp's qwen3moe semantics.

Per block: x += Wo·attn(rope(qnorm(Wq·n)), rope(knorm(Wk·n)), Wv·n) with n = rmsnorm(x) (per-head RMSNorm on q and
k, NEOX rope: dimension i rotates with i + head_dim/2); then x += sum_{e in top-k} w_e · down_e(silu(gate_e(m)) ·
up_e(m)) with m = rmsnorm(x), router probabilities p = softmax(W_r·m) over all experts, top-k of p, weights
renormalised to sum 1 (norm_w). Final rmsnorm and the output projection. Parameters are stored in the layout the
GGUF wants (torch row-major (out, in) = ggml [in, out]), so export is a plain dump.
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab: int = 659
    d: int = 192
    layers: int = 4
    heads: int = 6
    head_dim: int = 32
    experts: int = 16
    top_k: int = 2
    expert_ff: int = 192
    ctx: int = 256
    eps: float = 1e-6
    rope_base: float = 10000.0

    def to_dict(self):
        return asdict(self)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, pos, base):
    """x: (..., T, H, D); pos: (..., T) integer positions. NEOX layout (halves)."""
    d = x.shape[-1]
    half = d // 2
    inv = base ** (-torch.arange(0, half, dtype=torch.float32, device=x.device) * 2 / d)
    ang = pos.to(torch.float32)[..., None] * inv  # (..., T, half)
    cos, sin = ang.cos()[..., None, :], ang.sin()[..., None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Block(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        hd = c.heads * c.head_dim
        self.attn_norm = nn.Parameter(torch.ones(c.d))
        self.wq = nn.Parameter(torch.randn(hd, c.d) / math.sqrt(c.d))
        self.wk = nn.Parameter(torch.randn(hd, c.d) / math.sqrt(c.d))
        self.wv = nn.Parameter(torch.randn(hd, c.d) / math.sqrt(c.d))
        self.wo = nn.Parameter(torch.randn(c.d, hd) / math.sqrt(hd) / math.sqrt(2 * c.layers))
        self.q_norm = nn.Parameter(torch.ones(c.head_dim))
        self.k_norm = nn.Parameter(torch.ones(c.head_dim))
        self.ffn_norm = nn.Parameter(torch.ones(c.d))
        self.router = nn.Parameter(torch.randn(c.experts, c.d) * 0.02)
        self.gate = nn.Parameter(torch.randn(c.experts, c.expert_ff, c.d) / math.sqrt(c.d))
        self.up = nn.Parameter(torch.randn(c.experts, c.expert_ff, c.d) / math.sqrt(c.d))
        self.down = nn.Parameter(torch.randn(c.experts, c.d, c.expert_ff) / math.sqrt(c.expert_ff) / math.sqrt(2 * c.layers))

    def attention(self, x, pos, mask):
        c = self.c
        B, T, _ = x.shape
        n = rmsnorm(x, self.attn_norm, c.eps)
        q = (n @ self.wq.t()).view(B, T, c.heads, c.head_dim)
        k = (n @ self.wk.t()).view(B, T, c.heads, c.head_dim)
        v = (n @ self.wv.t()).view(B, T, c.heads, c.head_dim)
        q = rope(rmsnorm(q, self.q_norm, c.eps), pos, c.rope_base)
        k = rope(rmsnorm(k, self.k_norm, c.eps), pos, c.rope_base)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # B, H, T, D
        s = (q @ k.transpose(-1, -2)) / math.sqrt(c.head_dim)
        s = s.masked_fill(~mask[:, None], float("-inf"))
        o = torch.softmax(s, dim=-1) @ v
        return o.transpose(1, 2).reshape(B, T, -1) @ self.wo.t()

    def moe(self, x):
        """Returns (output, router probabilities (N, E), selected experts (N, k))."""
        c = self.c
        shape = x.shape
        m = rmsnorm(x, self.ffn_norm, c.eps).reshape(-1, c.d)
        probs = torch.softmax(m @ self.router.t(), dim=-1)
        topv, topi = probs.topk(c.top_k, dim=-1)
        w = topv / topv.sum(-1, keepdim=True)
        flat = topi.reshape(-1)
        order = torch.argsort(flat, stable=True)
        tok = order // c.top_k
        counts = torch.bincount(flat, minlength=c.experts).tolist()
        xs = m[tok]
        ws = w.reshape(-1)[order]
        outs = []
        # unbind once: indexing the stacked parameters per expert would make a full-size gradient per expert
        gates, ups, downs = self.gate.unbind(0), self.up.unbind(0), self.down.unbind(0)
        for e, xe in enumerate(torch.split(xs, counts)):
            if xe.shape[0] == 0:
                continue
            h = F.silu(xe @ gates[e].t()) * (xe @ ups[e].t())
            outs.append(h @ downs[e].t())
        y = torch.cat(outs, 0) * ws[:, None]
        out = torch.zeros_like(m).index_add_(0, tok, y)
        return out.view(shape), probs, topi

    def forward(self, x, pos, mask):
        x = x + self.attention(x, pos, mask)
        y, probs, topi = self.moe(x)
        return x + y, probs, topi


class MoeLM(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.embed = nn.Parameter(torch.randn(c.vocab, c.d) * 0.5)
        self.blocks = nn.ModuleList([Block(c) for _ in range(c.layers)])
        self.out_norm = nn.Parameter(torch.ones(c.d))
        self.out = nn.Parameter(torch.randn(c.vocab, c.d) / math.sqrt(c.d))

    def forward(self, tokens, pos, mask):
        """tokens, pos: (B, T); mask: (B, T, T) bool, True where attention is allowed."""
        x = self.embed[tokens]
        routing = []
        for b in self.blocks:
            x, probs, topi = b(x, pos, mask)
            routing.append((probs, topi))
        x = rmsnorm(x, self.out_norm, self.c.eps)
        return x @ self.out.t(), routing


def balance_loss(routing, experts, top_k, valid):
    """Switch-style auxiliary loss, averaged over layers: E * sum_e f_e * P_e (1 at perfect balance)."""
    total = 0.0
    v = valid.reshape(-1).float()
    nv = v.sum().clamp(min=1)
    for probs, topi in routing:
        onehot = F.one_hot(topi, experts).float().sum(1)  # N, E
        f = (onehot * v[:, None]).sum(0) / (nv * top_k)
        p = (probs * v[:, None]).sum(0) / nv
        total = total + experts * (f * p).sum()
    return total / len(routing)
