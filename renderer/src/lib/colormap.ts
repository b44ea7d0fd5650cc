// Perceptual colour scales computed in code: polynomial fits of matplotlib's viridis and magma
// (6th-degree, per channel; max error well under 1/255 of the published tables).

export type Rgb = [number, number, number];

const VIRIDIS: readonly Rgb[] = [
  [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
  [0.1050930431085774, 1.404613529898575, 1.384590162594685],
  [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
  [-4.634230498983486, -5.799100973351585, -19.33244095627987],
  [6.228269936347081, 14.17993336680509, 56.69055260068105],
  [4.776384997670288, -13.74514537774601, -65.35303263337234],
  [-5.435455855934631, 4.645852612178535, 26.3124352495832],
];

const MAGMA: readonly Rgb[] = [
  [-0.002136485053939582, -0.000749655052795221, -0.005386127855323933],
  [0.2516605407371642, 0.6775232436837668, 2.494026599312351],
  [8.353717279216625, -3.577719514958484, 0.3144679030132573],
  [-27.66873308576866, 14.26473078096533, -13.64921318813922],
  [52.17613981234068, -27.94360607168351, 12.94416944238394],
  [-50.76852536473588, 29.04658282127291, 4.23415299384598],
  [18.65570506591883, -11.48977351997711, -5.601961508734096],
];

function evalPoly(coeffs: readonly Rgb[], t: number): Rgb {
  const x = Math.min(1, Math.max(0, t));
  const out: Rgb = [0, 0, 0];
  for (let ch = 0; ch < 3; ch++) {
    let v = 0;
    for (let i = coeffs.length - 1; i >= 0; i--) v = v * x + coeffs[i]![ch]!;
    out[ch] = Math.round(Math.min(1, Math.max(0, v)) * 255);
  }
  return out;
}

export type ScaleName = "viridis" | "magma";

/** 256-entry lookup table, RGB bytes packed [r,g,b,r,g,b,...]. */
export function buildLut(name: ScaleName): Uint8ClampedArray {
  const coeffs = name === "viridis" ? VIRIDIS : MAGMA;
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = evalPoly(coeffs, i / 255);
    lut[i * 3] = r;
    lut[i * 3 + 1] = g;
    lut[i * 3 + 2] = b;
  }
  return lut;
}

const luts = new Map<ScaleName, Uint8ClampedArray>();
export function lut(name: ScaleName): Uint8ClampedArray {
  let l = luts.get(name);
  if (!l) {
    l = buildLut(name);
    luts.set(name, l);
  }
  return l;
}

export function colorAt(name: ScaleName, t: number): Rgb {
  const l = lut(name);
  const i = Math.round(Math.min(1, Math.max(0, t)) * 255) * 3;
  return [l[i]!, l[i + 1]!, l[i + 2]!];
}

export function cssColor(rgb: Rgb): string {
  return `rgb(${rgb[0]} ${rgb[1]} ${rgb[2]})`;
}
