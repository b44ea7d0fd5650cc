"""Trains the tiny Qwen3-MoE chat model (seeded, CPU) and writes everything export.ts needs.

  /usr/bin/python3 tools/train-moe/train.py --steps 2400 --out tools/train-moe/out

Outputs in --out: tokenizer.json, heldout.json (evaluation items and prose), ckpt.pt (latest checkpoint, saved
periodically), weights/ (raw little-endian f32 tensors + manifest.json), reference.json (the training framework's
probabilities for fixed prompts, from the F16-rounded weights the GGUF stores), metrics.json, train.log lines on stdout.
"""
import argparse
import json
import math
import os
import random
import sys
import time

# OpenMP threads that spin while waiting collapse when another process shares the cores (measured 5-10x slower
# steps); passive waiting keeps 2 threads fast. Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import Corpus, chat  # noqa: E402
from model import Config, MoeLM, balance_loss  # noqa: E402
from tokenizer import Tokenizer, learn_merges  # noqa: E402

TASK_MIX = [("add", 0.40), ("sub", 0.22), ("next", 0.07), ("prev", 0.05), ("copy", 0.07), ("reverse", 0.07), ("verse", 0.08), ("fortune", 0.04)]
REFERENCE_PROMPTS = [
    ("chat", "What is 23 + 45?"),
    ("chat", "Continue the verse: In the beginning God"),
    ("chat", "Spell backwards: w o r d"),
    ("text", "<|endoftext|>And the LORD spake unto Moses, saying, Speak unto the children of Israel"),
]


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


class Batcher:
    def __init__(self, corpus, tok, ctx, seed, prose_share):
        self.c, self.tok, self.ctx = corpus, tok, ctx
        self.rng = random.Random(seed)
        self.prose = [tok.encode(t, special=False) for t in corpus.prose_texts()]
        self.prose_w = [len(p) for p in self.prose]
        self.prose_share = prose_share
        self.kinds = [k for k, _ in TASK_MIX]
        self.kind_w = [w for _, w in TASK_MIX]

    def doc(self):
        """(tokens, loss mask) of one document."""
        r = self.rng
        if r.random() < self.prose_share:
            p = r.choices(self.prose, weights=self.prose_w)[0]
            n = r.randint(48, self.ctx - 1)
            s = r.randint(0, max(0, len(p) - n))
            toks = [self.tok.eot] + p[s:s + n]
            return toks, [0] + [1] * (len(toks) - 1)
        user, answer = self.c.task(r.choices(self.kinds, weights=self.kind_w)[0], r)
        prompt, ans = chat(user, answer)
        a, b = self.tok.encode(prompt), self.tok.encode(ans)
        toks = (a + b)[: self.ctx]
        return toks, ([0] * len(a) + [1] * len(b))[: self.ctx]

    def batch(self, rows):
        T = self.ctx
        tokens = np.zeros((rows, T), np.int64)
        docs = np.full((rows, T), -1, np.int64)
        pos = np.zeros((rows, T), np.int64)
        lm = np.zeros((rows, T), np.float32)
        for b in range(rows):
            i, d = 0, 0
            while i < T:
                toks, mask = self.doc()
                n = len(toks)
                if i + n > T:
                    if n < 64:  # a short task document that does not fit: pad the rest of the row
                        break
                    n = T - i
                tokens[b, i:i + n] = toks[:n]
                docs[b, i:i + n] = d
                pos[b, i:i + n] = np.arange(n)
                lm[b, i:i + n] = mask[:n]
                i += n
                d += 1
        tokens, docs, pos, lm = map(torch.from_numpy, (tokens, docs, pos, lm))
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        mask = (docs[:, :, None] == docs[:, None, :]) & causal
        # predict token i+1 at i when both belong to the same document and i+1 carries loss
        target_w = torch.zeros_like(lm)
        target_w[:, :-1] = lm[:, 1:] * (docs[:, :-1] == docs[:, 1:]).float() * (docs[:, 1:] >= 0).float()
        targets = torch.zeros_like(tokens)
        targets[:, :-1] = tokens[:, 1:]
        return tokens, pos, mask, targets, target_w, docs >= 0


def write_tokcheck(corpus, tok, path):
    """Texts and this tokenizer's ids, for check-tokenizer.ts to compare with llama.cpp's tokenization."""
    rng = random.Random(5)
    texts = corpus.prose_texts() + corpus.prose_texts(heldout=True)
    for kind, _ in TASK_MIX:
        for _ in range(50):
            texts.append("".join(chat(*corpus.task(kind, rng))))
    for items in corpus.heldout_tasks().values():
        texts += [chat(it["prompt"], it["answer"])[0] for it in items]
    with open(path, "w") as f:
        json.dump([{"text": t, "tokens": tok.encode(t)} for t in texts], f)


def padded(seqs, pad):
    """Right-pads token lists; returns tokens, positions, attention mask, validity."""
    T = max(len(s) for s in seqs)
    tokens = torch.full((len(seqs), T), pad, dtype=torch.long)
    valid = torch.zeros((len(seqs), T), dtype=torch.bool)
    for i, s in enumerate(seqs):
        tokens[i, : len(s)] = torch.tensor(s)
        valid[i, : len(s)] = True
    pos = torch.arange(T)[None].expand(len(seqs), T)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    eye = torch.eye(T, dtype=torch.bool)
    mask = causal & (valid[:, None, :] | eye)
    return tokens, pos, mask, valid


@torch.no_grad()
def greedy(model, tok, prompts, max_new=8, batch=100):
    outs = []
    for s in range(0, len(prompts), batch):
        seqs = [tok.encode(p) for p in prompts[s:s + batch]]
        lens = [len(x) for x in seqs]
        done = [False] * len(seqs)
        gen = [[] for _ in seqs]
        for _ in range(max_new):
            tokens, pos, mask, _ = padded(seqs, tok.eot)
            logits, _ = model(tokens, pos, mask)
            for i in range(len(seqs)):
                if done[i]:
                    continue
                nxt = int(logits[i, len(seqs[i]) - 1].argmax())
                if nxt == tok.im_end or nxt == tok.eot:
                    done[i] = True
                    continue
                gen[i].append(nxt)
                seqs[i] = seqs[i] + [nxt]
            if all(done):
                break
        outs += [tok.decode(g) for g in gen]
        del lens
    return outs


@torch.no_grad()
def evaluate(model, tok, heldout, tasks=("add", "sub", "next", "prev", "copy", "reverse"), limit=None):
    acc = {}
    for t in tasks:
        items = heldout["tasks"][t][:limit]
        prompts = [chat(it["prompt"], "")[0] for it in items]
        answers = greedy(model, tok, prompts)
        acc[t] = sum(a.strip() == it["answer"] for a, it in zip(answers, items)) / len(items)
    # held-out prose perplexity (teacher forced, from position 1 on) and expert loads
    nll, n = 0.0, 0
    cfg = model.c
    loads = torch.zeros(cfg.layers, cfg.experts)
    seqs = heldout["prose"]["tokens"]
    for s in range(0, len(seqs), 16):
        tokens, pos, mask, valid = padded(seqs[s:s + 16], tok.eot)
        logits, routing = model(tokens, pos, mask)
        lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, tokens[:, 1:, None])[..., 0]
        w = (valid[:, 1:]).float()
        nll -= float((lp * w).sum())
        n += int(w.sum())
        for l, (_, topi) in enumerate(routing):
            sel = topi[valid.reshape(-1)]
            loads[l] += torch.bincount(sel.reshape(-1), minlength=cfg.experts).float()
    share = loads / loads.sum(1, keepdim=True)
    return {
        "accuracy": acc,
        "prosePerplexity": math.exp(nll / n),
        "proseTokens": n,
        "expertLoad": {
            "share": [[round(float(x), 4) for x in row] for row in share],
            "maxOverMean": [round(float(row.max() * cfg.experts), 3) for row in share],
            "minOverMean": [round(float(row.min() * cfg.experts), 3) for row in share],
            "cv": [round(float(row.std(unbiased=False) / row.mean()), 3) for row in share],
        },
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--batch", type=int, default=12, help="rows per step")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--merges", type=int, default=400)
    ap.add_argument("--prose-share", type=float, default=0.10, help="share of documents that are prose windows")
    ap.add_argument("--aux", type=float, default=0.01, help="load-balancing loss weight")
    ap.add_argument("--deadline-minutes", type=float, default=0, help="stop early (and say so) after this wall time")
    ap.add_argument("--ckpt-every", type=int, default=200)
    ap.add_argument("--eval-every", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--export-only", action="store_true", help="export the checkpoint in --out (e.g. while training runs) and exit")
    ap.add_argument("--eval-limit", type=int, default=None, help="held-out items per task in the final evaluation")
    for f in ("d", "layers", "heads", "head_dim", "experts", "top_k", "expert_ff", "ctx"):
        ap.add_argument("--" + f.replace("_", "-"), type=int, default=getattr(Config, f))
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    log(f"torch {torch.__version__}, threads {torch.get_num_threads()}")

    if args.export_only:
        state = torch.load(os.path.join(args.out, "ckpt.pt"))
        tok = Tokenizer.load(os.path.join(args.out, "tokenizer.json"))
        model = MoeLM(Config(**state["config"]))
        model.load_state_dict(state["model"])
        model.eval()
        export_dir = os.path.join(args.out, "export")
        os.makedirs(export_dir, exist_ok=True)
        export_weights(model, tok, export_dir)
        log(f"exported step {state['step']} to {export_dir}")
        return

    corpus = Corpus(seed=args.seed)
    tok_path = os.path.join(args.out, "tokenizer.json")
    if args.resume and os.path.exists(tok_path):
        tok = Tokenizer.load(tok_path)
    else:
        tok = Tokenizer(learn_merges(corpus.prose_texts(), args.merges))
        tok.save(tok_path)
    write_tokcheck(corpus, tok, os.path.join(args.out, "tokcheck.json"))
    log(f"corpus: {len(corpus.chapters)} KJV chapters, {len(corpus.fortunes)} fortunes; vocab {tok.size} ({time.time() - t0:.1f}s)")

    # held-out material: evaluation tasks and prose windows (the fidelity benchmark reads the same file)
    hrng = random.Random(args.seed + 7)
    held_prose = [tok.encode(t, special=False) for t in corpus.prose_texts(heldout=True)]
    held_prose = [p for p in held_prose if len(p) >= 160]
    prose_seqs = []
    for i in range(64):
        p = held_prose[i % len(held_prose)]
        s = hrng.randint(0, len(p) - 128)
        prose_seqs.append([tok.eot] + p[s:s + 128])
    heldout = {"tasks": corpus.heldout_tasks(), "prose": {"tokens": prose_seqs, "text": [tok.decode(s[1:]) for s in prose_seqs]}}
    with open(os.path.join(args.out, "heldout.json"), "w") as f:
        json.dump(heldout, f)

    cfg = Config(vocab=tok.size, **{f: getattr(args, f) for f in ("d", "layers", "heads", "head_dim", "experts", "top_k", "expert_ff", "ctx")})
    model = MoeLM(cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))
    nparams = sum(p.numel() for p in model.parameters())
    log(f"model {cfg.to_dict()}: {nparams / 1e6:.2f}M parameters")

    batcher = Batcher(corpus, tok, cfg.ctx, args.seed, args.prose_share)
    step = 0
    ckpt = os.path.join(args.out, "ckpt.pt")
    if args.resume and os.path.exists(ckpt):
        state = torch.load(ckpt)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        batcher.rng.setstate(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        log(f"resumed at step {step}")

    warmup = min(200, args.steps // 10)

    def lr_at(s):
        if s < warmup:
            return args.lr * (s + 1) / warmup
        frac = (s - warmup) / max(1, args.steps - warmup)
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))

    def save(final=False):
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "rng": batcher.rng.getstate(),
                    "torch_rng": torch.get_rng_state(), "config": cfg.to_dict(), "final": final}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    train_start = time.time()
    stopped_early = False
    ema = None
    while step < args.steps:
        if args.deadline_minutes and time.time() - t0 > args.deadline_minutes * 60:
            stopped_early = True
            log(f"deadline reached at step {step} of {args.steps}: stopping and exporting this checkpoint")
            break
        tokens, pos, mask, targets, tw, valid = batcher.batch(args.batch)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        logits, routing = model(tokens, pos, mask)
        ce = F.cross_entropy(logits.reshape(-1, cfg.vocab), targets.reshape(-1), reduction="none")
        loss_lm = (ce * tw.reshape(-1)).sum() / tw.sum().clamp(min=1)
        aux = balance_loss(routing, cfg.experts, cfg.top_k, valid)
        loss = loss_lm + args.aux * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        ema = float(loss_lm) if ema is None else 0.98 * ema + 0.02 * float(loss_lm)
        if step % 25 == 0 or step == 1:
            el = time.time() - train_start
            log(f"step {step}/{args.steps} loss {ema:.3f} aux {float(aux):.3f} lr {lr_at(step):.2e} {el / 60:.1f} min, {int(valid.sum()) * step / el:.0f} tok/s")
        if step % args.ckpt_every == 0:
            save()
        if args.eval_every and step % args.eval_every == 0:
            model.eval()
            m = evaluate(model, tok, heldout, limit=100)
            model.train()
            log(f"eval step {step}: acc {m['accuracy']} ppl {m['prosePerplexity']:.2f} maxload {m['expertLoad']['maxOverMean']}")
    save(final=not stopped_early)
    train_minutes = (time.time() - train_start) / 60
    model.eval()
    metrics = evaluate(model, tok, heldout, limit=args.eval_limit)
    metrics.update({"steps": step, "plannedSteps": args.steps, "stoppedEarly": stopped_early, "trainMinutes": round(train_minutes, 1),
                    "parameters": nparams, "config": cfg.to_dict(), "seed": args.seed, "batchRows": args.batch,
                    "tokensSeen": step * args.batch * cfg.ctx})
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    log(f"held-out: {json.dumps(metrics['accuracy'])} prose ppl {metrics['prosePerplexity']:.3f} load max/mean {metrics['expertLoad']['maxOverMean']}")
    export_weights(model, tok, args.out)
    log(f"done in {(time.time() - t0) / 60:.1f} min")


def f16(t):
    return t.detach().to(torch.float16).to(torch.float32)


def export_weights(model, tok, out):
    """Raw f32 tensors in GGUF order + manifest, and reference probabilities from the weights as stored."""
    c = model.c
    wdir = os.path.join(out, "weights")
    os.makedirs(wdir, exist_ok=True)
    manifest = {"config": c.to_dict(), "tensors": []}
    # big matrices are stored as F16 in the GGUF; norms (and the tiny router) as F32
    plan = [("token_embd.weight", model.embed, "F16"), ("output_norm.weight", model.out_norm, "F32"), ("output.weight", model.out, "F16")]
    for i, b in enumerate(model.blocks):
        plan += [
            (f"blk.{i}.attn_norm.weight", b.attn_norm, "F32"), (f"blk.{i}.attn_q.weight", b.wq, "F16"),
            (f"blk.{i}.attn_k.weight", b.wk, "F16"), (f"blk.{i}.attn_v.weight", b.wv, "F16"),
            (f"blk.{i}.attn_output.weight", b.wo, "F16"), (f"blk.{i}.attn_q_norm.weight", b.q_norm, "F32"),
            (f"blk.{i}.attn_k_norm.weight", b.k_norm, "F32"), (f"blk.{i}.ffn_norm.weight", b.ffn_norm, "F32"),
            (f"blk.{i}.ffn_gate_inp.weight", b.router, "F32"), (f"blk.{i}.ffn_gate_exps.weight", b.gate, "F16"),
            (f"blk.{i}.ffn_up_exps.weight", b.up, "F16"), (f"blk.{i}.ffn_down_exps.weight", b.down, "F16"),
        ]
    with torch.no_grad():
        for name, p, typ in plan:
            data = (f16(p) if typ == "F16" else p.detach()).contiguous().numpy().astype("<f4")
            fname = name + ".f32"
            data.tofile(os.path.join(wdir, fname))
            # ggml order: innermost (contiguous) dimension first
            manifest["tensors"].append({"name": name, "file": fname, "shape": list(reversed(p.shape)), "type": typ})
            if typ == "F16":
                p.copy_(f16(p))  # the reference below uses exactly the stored weights
    manifest["tokenizer"] = {"tokens": tok.tokens, "merges": [f"{a} {b}" for a, b in tok.merges], "eot": tok.eot,
                             "imStart": tok.im_start, "imEnd": tok.im_end}
    with open(os.path.join(wdir, "manifest.json"), "w") as f:
        json.dump(manifest, f)

    # reference: probabilities at every position of a few prompts (top 10 per position)
    refs = []
    with torch.no_grad():
        for kind, text in REFERENCE_PROMPTS:
            full = chat(text, "")[0] if kind == "chat" else text
            ids = tok.encode(full)
            tokens, pos, mask, _ = padded([ids], tok.eot)
            logits, _ = model(tokens, pos, mask)
            probs = torch.softmax(logits[0].double(), -1)
            positions = []
            for t in range(len(ids)):
                pv, pi = probs[t].topk(10)
                positions.append({"top": [[int(i), round(float(v), 6)] for v, i in zip(pv, pi)]})
            refs.append({"kind": kind, "input": text, "text": full, "tokens": ids, "positions": positions,
                         "greedyNext": int(probs[-1].argmax())})
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump({"note": "softmax of the PyTorch model's logits (F16-rounded weights as stored in the GGUF), top 10 per position",
                   "prompts": refs}, f)


if __name__ == "__main__":
    main()
