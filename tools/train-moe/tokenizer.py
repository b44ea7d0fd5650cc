"""Byte-level GPT-2 style BPE that llama.cpp reproduces exactly (tokenizer.ggml.model=gpt2, pre=gpt-2).

Token ids: 0..255 are the 256 bytes (spelled with GPT-2's byte-to-unicode mapping), then the learned merges in
rank order, then the special tokens <|endoftext|>, <|im_start|>, <|im_end|> (CONTROL). Merges are learned only
inside ASCII-letter pre-tokens (" word" / "word"), so digits, punctuation and whitespace always stay single bytes:
the digits of numbers are separate tokens, which is what arithmetic needs.
Training text is restricted to printable ASCII plus newline, where Python's `re` with ASCII classes splits like
llama.cpp's GPT-2 pre-tokenizer regex.
"""
import json
import re
from collections import Counter

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
PRETOKEN = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+")
LETTERS = re.compile(r" ?[A-Za-z]+")
SPECIAL_SPLIT = re.compile("(" + "|".join(re.escape(s) for s in SPECIALS) + ")")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


B2U = bytes_to_unicode()


def learn_merges(texts, n_merges, top_words=6000):
    """Standard BPE over the most frequent letter pre-tokens; returns merges as (left, right) token strings."""
    counts = Counter()
    for t in texts:
        for w in PRETOKEN.findall(t):
            if LETTERS.fullmatch(w):
                counts[w] += 1
    words = [([B2U[b] for b in w.encode()], c) for w, c in counts.most_common(top_words)]
    merges = []
    existing = set(B2U.values())
    for _ in range(n_merges):
        pairs = Counter()
        for syms, c in words:
            for a, b in zip(syms, syms[1:]):
                pairs[(a, b)] += c
        # a merge whose result is already a token would make two tokens with one spelling: skip it
        candidates = [(c, p) for p, c in pairs.items() if p[0] + p[1] not in existing]
        if not candidates:
            break
        # deterministic: highest count, then lexicographic order of the pair
        best = min(candidates, key=lambda cp: (-cp[0], cp[1]))[1]
        merges.append(best)
        existing.add(best[0] + best[1])
        joined = best[0] + best[1]
        for i, (syms, c) in enumerate(words):
            if len(syms) < 2:
                continue
            out, j = [], 0
            while j < len(syms):
                if j + 1 < len(syms) and syms[j] == best[0] and syms[j + 1] == best[1]:
                    out.append(joined)
                    j += 2
                else:
                    out.append(syms[j])
                    j += 1
            words[i] = (out, c)
    return merges


class Tokenizer:
    def __init__(self, merges):
        self.merges = [tuple(m) for m in merges]
        self.tokens = [B2U[b] for b in range(256)] + [a + b for a, b in self.merges] + SPECIALS
        self.ranks = {m: i for i, m in enumerate(self.merges)}
        self.ids = {}
        for i, t in enumerate(self.tokens):
            self.ids.setdefault(t, i)
        self.special_ids = {s: self.tokens.index(s) for s in SPECIALS}
        self.eot, self.im_start, self.im_end = (self.special_ids[s] for s in SPECIALS)
        self.cache = {}
        self.decoder = {v: k for k, v in B2U.items()}

    @property
    def size(self):
        return len(self.tokens)

    def _bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        syms = [B2U[b] for b in word.encode()]
        while len(syms) > 1:
            best, best_rank = None, None
            for i in range(len(syms) - 1):
                r = self.ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best is None:
                break
            syms = syms[:best] + [syms[best] + syms[best + 1]] + syms[best + 2:]
        ids = [self.ids[s] for s in syms]
        self.cache[word] = ids
        return ids

    def encode(self, text, special=True):
        out = []
        parts = SPECIAL_SPLIT.split(text) if special else [text]
        for part in parts:
            if not part:
                continue
            if special and part in self.special_ids:
                out.append(self.special_ids[part])
                continue
            for w in PRETOKEN.findall(part):
                out.extend(self._bpe(w))
        return out

    def decode(self, ids):
        data = bytearray()
        for i in ids:
            t = self.tokens[i]
            if t in self.special_ids:
                data += t.encode()
            else:
                data += bytes(self.decoder[ch] for ch in t)
        return data.decode("utf-8", errors="replace")

    def save(self, path):
        with open(path, "w") as f:
            json.dump({"merges": [list(m) for m in self.merges], "specials": SPECIALS}, f)

    @staticmethod
    def load(path):
        with open(path) as f:
            return Tokenizer(json.load(f)["merges"])
