/**
 * Photo-like synthetic images for the benchmark dataset, made deterministically from a seed.
 *
 * A real photo costs a JPEG decoder what its content costs: smooth regions (few AC
 * coefficients), edges and textures (many), and sensor noise (a little everywhere). Flat or
 * random images would make the decode unrealistically cheap or expensive, so each image here is
 *
 * - a background: a bilinear blend of four corner colours plus three low-frequency waves;
 * - 5 to 10 shapes (ellipses and rotated rectangles) with anti-aliased edges, each shaded by its
 *   own gradient, some of them textured by a stripe pattern; the first, largest shape's kind and
 *   hue follow the image's class, so the classes differ visibly;
 * - luminance texture everywhere (three octaves of value noise, 24, 6 and 2 pixels across), like
 *   the grain of foliage, fabric or walls;
 * - per-sample noise of about ±8 levels.
 *
 * The result is RGBA (alpha 255), the layout WebAssembly image encoders take.
 *
 * @module
 */

import { SeededRandom } from "../seeded_random.ts";

/** What {@linkcode syntheticPhoto} draws. */
export interface SyntheticPhotoOptions {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Seed of this image (the same seed gives the same pixels). */
  readonly seed: number;
  /** The image's class, which picks the main shape's kind and hue. */
  readonly classIndex: number;
  /** Number of classes (spreads the class hues around the colour wheel). */
  readonly classCount: number;
}

/** An RGBA image, 4 bytes per pixel, rows without padding (`ImageData`'s layout). */
export interface RgbaImage {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** `width * height * 4` bytes. */
  readonly data: Uint8ClampedArray;
}

/** Amplitude of the per-sample noise, in levels (the sum of two uniforms, so triangular). */
const NOISE_LEVELS = 8;

/** Value-noise octaves over the whole image: grid cell in pixels, amplitude in levels. */
const TEXTURE_OCTAVES: readonly (readonly [number, number])[] = [[24, 14], [6, 9], [2, 7]];

/** An RGB colour in levels, 0..255 each. */
type Colour = [number, number, number];

function randomColour(random: SeededRandom): Colour {
  return [random.next() * 255, random.next() * 255, random.next() * 255];
}

/** A saturated colour of the given hue (0..1), with random brightness. */
function hueColour(hue: number, random: SeededRandom): Colour {
  const value = 120 + random.next() * 120;
  const chroma = value * (0.5 + random.next() * 0.4);
  const h = (hue % 1) * 6;
  const x = chroma * (1 - Math.abs((h % 2) - 1));
  const sector = Math.floor(h);
  const [r, g, b] = sector === 0
    ? [chroma, x, 0]
    : sector === 1
    ? [x, chroma, 0]
    : sector === 2
    ? [0, chroma, x]
    : sector === 3
    ? [0, x, chroma]
    : sector === 4
    ? [x, 0, chroma]
    : [chroma, 0, x];
  const m = value - chroma;
  return [r + m, g + m, b + m];
}

/** Fills `rgb` (planar-free, 3 floats a pixel) with the background. */
function paintBackground(
  rgb: Float32Array,
  width: number,
  height: number,
  random: SeededRandom,
): void {
  const corners = [
    randomColour(random),
    randomColour(random),
    randomColour(random),
    randomColour(random),
  ];
  // cos(a·x + b·y + φ) = cos(a·x)·cos(b·y + φ) − sin(a·x)·sin(b·y + φ): per-row and per-column
  // tables make each wave two multiplications a pixel.
  const waveCount = 3;
  const cosX = new Float32Array(waveCount * width), sinX = new Float32Array(waveCount * width);
  const cosY = new Float32Array(waveCount * height), sinY = new Float32Array(waveCount * height);
  const amplitude = new Float32Array(waveCount * 3); // [wave][channel]
  for (let w = 0; w < waveCount; w++) {
    const fx = (random.next() * 3 + 0.3) * 2 * Math.PI / width;
    const fy = (random.next() * 3 + 0.3) * 2 * Math.PI / height;
    const phase = random.next() * 2 * Math.PI;
    for (let x = 0; x < width; x++) {
      cosX[w * width + x] = Math.cos(fx * x);
      sinX[w * width + x] = Math.sin(fx * x);
    }
    for (let y = 0; y < height; y++) {
      cosY[w * height + y] = Math.cos(fy * y + phase);
      sinY[w * height + y] = Math.sin(fy * y + phase);
    }
    for (let c = 0; c < 3; c++) amplitude[w * 3 + c] = random.next() * 18;
  }
  let i = 0;
  for (let y = 0; y < height; y++) {
    const v = y / (height - 1 || 1);
    const c0 = [0, 1, 2].map((c) => corners[0][c] * (1 - v) + corners[2][c] * v);
    const c1 = [0, 1, 2].map((c) => corners[1][c] * (1 - v) + corners[3][c] * v);
    const cy0 = cosY[y], sy0 = sinY[y];
    const cy1 = cosY[height + y], sy1 = sinY[height + y];
    const cy2 = cosY[2 * height + y], sy2 = sinY[2 * height + y];
    for (let x = 0; x < width; x++) {
      const u = x / (width - 1 || 1);
      const w0 = cosX[x] * cy0 - sinX[x] * sy0;
      const w1 = cosX[width + x] * cy1 - sinX[width + x] * sy1;
      const w2 = cosX[2 * width + x] * cy2 - sinX[2 * width + x] * sy2;
      for (let c = 0; c < 3; c++) {
        rgb[i++] = c0[c] + (c1[c] - c0[c]) * u + amplitude[c] * w0 + amplitude[3 + c] * w1 +
          amplitude[6 + c] * w2;
      }
    }
  }
}

interface Shape {
  readonly kind: "ellipse" | "rectangle";
  readonly cx: number;
  readonly cy: number;
  /** Half extents along the shape's own axes. */
  readonly rx: number;
  readonly ry: number;
  /** Rotation, radians. */
  readonly angle: number;
  readonly colour: Colour;
  /** Shading: levels added per unit of the shape's own u coordinate (−1..1). */
  readonly shade: Colour;
  /** Stripe texture: amplitude (levels) and spatial frequency (radians per pixel). */
  readonly stripes: { readonly amplitude: number; readonly frequency: number };
  /** Width of the anti-aliased edge, pixels. */
  readonly edge: number;
}

function randomShape(
  random: SeededRandom,
  width: number,
  height: number,
  main?: { kind: Shape["kind"]; hue: number },
): Shape {
  const scale = main ? 0.25 + random.next() * 0.15 : 0.04 + random.next() * 0.16;
  const size = Math.min(width, height);
  const textured = random.next() < 0.4;
  return {
    kind: main?.kind ?? (random.next() < 0.5 ? "ellipse" : "rectangle"),
    cx: width * (main ? 0.35 + random.next() * 0.3 : random.next()),
    cy: height * (main ? 0.35 + random.next() * 0.3 : random.next()),
    rx: size * scale * (0.6 + random.next() * 0.8),
    ry: size * scale * (0.6 + random.next() * 0.8),
    angle: random.next() * Math.PI,
    colour: main ? hueColour(main.hue, random) : randomColour(random),
    shade: [
      (random.next() - 0.5) * 80,
      (random.next() - 0.5) * 80,
      (random.next() - 0.5) * 80,
    ],
    stripes: {
      amplitude: textured ? 6 + random.next() * 20 : 0,
      frequency: 0.3 + random.next() * 1.2,
    },
    edge: 0.7 + random.next() * 2.5,
  };
}

/** Blends `shape` over `rgb`, within its bounding box. */
function paintShape(rgb: Float32Array, width: number, height: number, shape: Shape): void {
  const cos = Math.cos(shape.angle), sin = Math.sin(shape.angle);
  const reach =
    (shape.kind === "ellipse" ? Math.max(shape.rx, shape.ry) : Math.hypot(shape.rx, shape.ry)) +
    shape.edge;
  const x0 = Math.max(0, Math.floor(shape.cx - reach));
  const x1 = Math.min(width - 1, Math.ceil(shape.cx + reach));
  const y0 = Math.max(0, Math.floor(shape.cy - reach));
  const y1 = Math.min(height - 1, Math.ceil(shape.cy + reach));
  const minRadius = Math.min(shape.rx, shape.ry);
  const { colour, shade, stripes } = shape;
  for (let y = y0; y <= y1; y++) {
    const dy = y - shape.cy;
    for (let x = x0; x <= x1; x++) {
      const dx = x - shape.cx;
      // The pixel in the shape's own axes.
      const u = dx * cos + dy * sin;
      const v = -dx * sin + dy * cos;
      let inside: number; // signed distance to the outline, pixels (positive inside)
      if (shape.kind === "ellipse") {
        const d = Math.sqrt((u / shape.rx) ** 2 + (v / shape.ry) ** 2);
        inside = (1 - d) * minRadius;
      } else {
        inside = Math.min(shape.rx - Math.abs(u), shape.ry - Math.abs(v));
      }
      const coverage = inside / shape.edge + 0.5;
      if (coverage <= 0) continue;
      const alpha = coverage >= 1 ? 1 : coverage;
      const t = u / shape.rx;
      const texture = stripes.amplitude === 0
        ? 0
        : stripes.amplitude * Math.sin(stripes.frequency * (u + 0.5 * v));
      const i = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const value = colour[c] + shade[c] * t + texture;
        rgb[i + c] += (value - rgb[i + c]) * alpha;
      }
    }
  }
}

/**
 * Adds one octave of value noise to every channel (the same value, so it reads as luminance
 * texture): random levels on a grid of `cell`-pixel squares, interpolated bilinearly.
 */
function addTexture(
  rgb: Float32Array,
  width: number,
  height: number,
  cell: number,
  amplitude: number,
  random: SeededRandom,
): void {
  const columns = Math.ceil(width / cell) + 2;
  const rows = Math.ceil(height / cell) + 2;
  const grid = random.fillUniform(new Float32Array(columns * rows), amplitude);
  const offsetX = random.next() * cell, offsetY = random.next() * cell;
  for (let y = 0; y < height; y++) {
    const gy = (y + offsetY) / cell;
    const row = Math.floor(gy), fy = gy - row;
    const top = row * columns, bottom = top + columns;
    let i = y * width * 3;
    for (let x = 0; x < width; x++, i += 3) {
      const gx = (x + offsetX) / cell;
      const column = Math.floor(gx), fx = gx - column;
      const upper = grid[top + column] + (grid[top + column + 1] - grid[top + column]) * fx;
      const lower = grid[bottom + column] +
        (grid[bottom + column + 1] - grid[bottom + column]) * fx;
      const value = upper + (lower - upper) * fy;
      rgb[i] += value;
      rgb[i + 1] += value;
      rgb[i + 2] += value;
    }
  }
}

/**
 * Draws one photo-like image (see the module note).
 *
 * @returns An RGBA image of `width` × `height`; the same options always give the same bytes.
 */
export function syntheticPhoto(options: SyntheticPhotoOptions): RgbaImage {
  const { width, height, classIndex, classCount } = options;
  const random = new SeededRandom(options.seed);
  const rgb = new Float32Array(width * height * 3);
  paintBackground(rgb, width, height, random);
  const main = {
    kind: classIndex % 2 === 0 ? "ellipse" as const : "rectangle" as const,
    hue: classIndex / Math.max(classCount, 1),
  };
  const others = 4 + Math.floor(random.next() * 6);
  // The main shape is drawn among the others, so it is sometimes partly covered.
  const mainAt = Math.floor(random.next() * (others + 1));
  for (let s = 0; s <= others; s++) {
    const shape = randomShape(random, width, height, s === mainAt ? main : undefined);
    paintShape(rgb, width, height, shape);
  }
  for (const [cell, amplitude] of TEXTURE_OCTAVES) {
    addTexture(rgb, width, height, cell, amplitude, random);
  }
  const data = new Uint8ClampedArray(width * height * 4);
  let noise = random.nextUint32() | 1;
  for (let p = 0, i = 0; p < data.length; p += 4, i += 3) {
    for (let c = 0; c < 3; c++) {
      // xorshift32: two uniforms summed give triangular noise in ±NOISE_LEVELS.
      noise ^= noise << 13;
      noise ^= noise >>> 17;
      noise ^= noise << 5;
      const n = ((noise & 0xffff) + (noise >>> 16)) / 65536 - 1;
      data[p + c] = rgb[i + c] + n * NOISE_LEVELS; // Uint8ClampedArray rounds and clamps
    }
    data[p + 3] = 255;
  }
  return { width, height, data };
}
