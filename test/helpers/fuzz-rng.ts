// A small seeded PRNG (sfc32) for the fuzzers: the same seed gives the same messages, so a failure is reproducible.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
}

function hash32(text: string, seed: number): number {
  let h = seed ^ 0x9e3779b9;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return Math.imul(h, 0xc2b2ae35) >>> 0;
}

export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  let b = hash32("b", seed);
  let c = hash32("c", seed);
  let d = 1;
  const raw = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) raw();
  const rng: Rng = {
    next: () => raw() / 4294967296,
    int: (lo, hi) => lo + Math.floor(rng.next() * (hi - lo + 1)),
    chance: (p) => rng.next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error("pick from an empty list");
      return items[Math.floor(rng.next() * items.length)]!;
    },
  };
  return rng;
}

/** An independent stream for one item of a run (message n of seed s), whatever the other items drew. */
export function rngFor(seed: number, ...labels: Array<string | number>): Rng {
  return createRng(hash32(labels.join("/"), seed >>> 0));
}

/** The seed of a run: LYNX_FUZZ_SEED when set, else a fresh one (printed by the test so a failure can be replayed). */
export function fuzzSeed(): number {
  const fromEnv = process.env.LYNX_FUZZ_SEED;
  if (fromEnv !== undefined && fromEnv !== "") {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`LYNX_FUZZ_SEED must be an integer 0..4294967295, got ${fromEnv}`);
    return n;
  }
  return Math.floor(Math.random() * 0xffffffff) >>> 0;
}
