"""Training and held-out data: public-domain prose from Debian packages plus generated chat tasks.

Prose: the King James Bible (Debian package bible-kjv, read with its `bible` program) and the BSD fortunes
(fortunes-min). Held out: every chapter whose index % 25 == 12 and every fortune whose index % 10 == 3.
Tasks (ChatML, exactly checkable answers): two-digit addition and subtraction, successor, predecessor, copy a
word, spell a word backwards. Held out: a seeded 10% of the unordered operand pairs (addition, subtraction), of
the numbers (successor/predecessor) and of the words (copy/reverse); training never samples them.
"""
import os
import random
import re
import subprocess

FORTUNE_FILES = ["/usr/share/games/fortunes/fortunes", "/usr/share/games/fortunes/literature", "/usr/share/games/fortunes/riddles"]
ASCII = re.compile(r"[^\x20-\x7e\n]")


def clean(text):
    return ASCII.sub("", text.replace("\t", " "))


def read_kjv():
    """List of (book chapter title, [verse texts])."""
    out = subprocess.run(["bible", "-l100000", "Gen1:1-Rev22:21"], capture_output=True, text=True, check=True).stdout
    chapters = []
    for line in out.split("\n"):
        if not line.strip():
            continue
        m = re.match(r"^\s+\d+ (.*)$", line)
        if m:
            chapters[-1][1].append(clean(m.group(1)).strip())
        else:
            chapters.append((line.strip(), []))
    assert len(chapters) == 1189, len(chapters)
    return chapters


def read_fortunes():
    items = []
    for path in FORTUNE_FILES:
        with open(path, encoding="latin-1") as f:
            for chunk in f.read().split("\n%\n"):
                chunk = clean(chunk).strip("\n")
                if 0 < len(chunk) <= 600:
                    items.append(chunk)
    return items


def chat(user, answer):
    """(prompt, answer) in the exact ChatML layout node-llama-cpp's ChatML wrapper produces (BOS first)."""
    return f"<|endoftext|><|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n", f"{answer}<|im_end|>"


class Corpus:
    def __init__(self, seed=1234):
        self.chapters = read_kjv()
        self.fortunes = read_fortunes()
        self.train_chapters = [c for i, c in enumerate(self.chapters) if i % 25 != 12]
        self.heldout_chapters = [c for i, c in enumerate(self.chapters) if i % 25 == 12]
        self.train_fortunes = [f for i, f in enumerate(self.fortunes) if i % 10 != 3]
        self.heldout_fortunes = [f for i, f in enumerate(self.fortunes) if i % 10 == 3]
        rng = random.Random(seed)
        pairs = [(a, b) for a in range(10, 100) for b in range(a, 100)]
        self.heldout_add = set(rng.sample(pairs, len(pairs) // 10))
        self.heldout_sub = set(rng.sample(pairs, len(pairs) // 10))
        numbers = list(range(0, 1000))
        self.heldout_num = set(rng.sample(numbers, 100))
        words = sorted({w.lower() for _, vs in self.train_chapters for v in vs for w in re.findall(r"[A-Za-z]+", v) if 3 <= len(w) <= 6})
        self.heldout_words = set(rng.sample(words, len(words) // 10))
        self.train_words = [w for w in words if w not in self.heldout_words]
        self.short_words = [w for w in self.train_words if len(w) <= 5]
        self.verses = [v for _, vs in self.train_chapters for v in vs if len(v.split()) >= 8]

    def prose_texts(self, heldout=False):
        chapters = self.heldout_chapters if heldout else self.train_chapters
        fortunes = self.heldout_fortunes if heldout else self.train_fortunes
        return ["\n".join(vs) for _, vs in chapters] + fortunes

    # tasks: each returns (user, answer)
    def task(self, kind, rng):
        if kind in ("add", "sub"):
            held = self.heldout_add if kind == "add" else self.heldout_sub
            while True:
                a, b = rng.randint(10, 99), rng.randint(10, 99)
                if (min(a, b), max(a, b)) not in held:
                    break
            if kind == "add":
                return f"What is {a} + {b}?", str(a + b)
            a, b = max(a, b), min(a, b)
            return f"What is {a} - {b}?", str(a - b)
        if kind in ("next", "prev"):
            while True:
                n = rng.randint(0, 998) if kind == "next" else rng.randint(1, 999)
                if n not in self.heldout_num:
                    break
            return (f"What comes after {n}?", str(n + 1)) if kind == "next" else (f"What comes before {n}?", str(n - 1))
        if kind == "copy":
            w = rng.choice(self.train_words)
            return f"Repeat the word: {w}", w
        if kind == "reverse":
            w = rng.choice(self.short_words)
            return f"Spell backwards: {' '.join(w)}", " ".join(reversed(w))
        if kind == "verse":
            words = rng.choice(self.verses).split()
            k = rng.randint(3, 6)
            return f"Continue the verse: {' '.join(words[:k])}", " ".join(words[k:])
        if kind == "fortune":
            return "Tell me a fortune.", rng.choice(self.train_fortunes)
        raise ValueError(kind)

    def heldout_tasks(self, per_task=200, seed=99):
        """Fixed held-out evaluation items: {task: [{prompt, answer}]}."""
        rng = random.Random(seed)
        out = {}
        add = sorted(self.heldout_add)
        sub = sorted(self.heldout_sub)
        nums = sorted(self.heldout_num)
        words = sorted(self.heldout_words)
        items = []
        for a, b in rng.sample(add, min(per_task, len(add))):
            if rng.random() < 0.5:
                a, b = b, a
            items.append({"prompt": f"What is {a} + {b}?", "answer": str(a + b)})
        out["add"] = items
        out["sub"] = [{"prompt": f"What is {b} - {a}?", "answer": str(b - a)} for a, b in rng.sample(sub, min(per_task, len(sub)))]
        out["next"] = [{"prompt": f"What comes after {n}?", "answer": str(n + 1)} for n in nums if n <= 998][:per_task]
        out["prev"] = [{"prompt": f"What comes before {n}?", "answer": str(n - 1)} for n in nums if n >= 1][:per_task]
        out["copy"] = [{"prompt": f"Repeat the word: {w}", "answer": w} for w in rng.sample(words, min(per_task, len(words)))]
        rev = [w for w in words if len(w) <= 5]
        out["reverse"] = [{"prompt": f"Spell backwards: {' '.join(w)}", "answer": " ".join(reversed(w))} for w in rng.sample(rev, min(per_task, len(rev)))]
        return out
