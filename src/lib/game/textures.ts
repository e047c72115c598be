/**
 * Textures and colours of the built-in game. They are deliberately coarse: 8x8 texels per wall
 * face (a texel spans 8+ screen pixels up close) and strongly different hues per material,
 * because the world model's VAE compresses 16x spatially and fine detail would be noise to it.
 */
/** Colours are stored as RGBA packed into a uint32 in the platform's byte order. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function packRgb(r: number, g: number, b: number): number {
  return LITTLE_ENDIAN
    ? ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0
    : ((r << 24) | (g << 16) | (b << 8) | 255) >>> 0;
}

/** Scales a packed colour's RGB by `s` in [0, 1]. */
export function shadeColor(c: number, s: number): number {
  if (LITTLE_ENDIAN) return packRgb(((c & 0xff) * s) | 0, (((c >>> 8) & 0xff) * s) | 0, (((c >>> 16) & 0xff) * s) | 0);
  return packRgb(((c >>> 24) * s) | 0, (((c >>> 16) & 0xff) * s) | 0, (((c >>> 8) & 0xff) * s) | 0);
}

export const TEX_SIZE = 8;

type Rgb = [number, number, number];

/** Builds an 8x8 texture from rows of palette indices. */
function texture(palette: Rgb[], rows: string[]): Uint32Array {
  const out = new Uint32Array(TEX_SIZE * TEX_SIZE);
  rows.forEach((row, v) => {
    for (let u = 0; u < TEX_SIZE; u++) {
      const [r, g, b] = palette[Number(row[u])];
      out[v * TEX_SIZE + u] = packRgb(r, g, b);
    }
  });
  return out;
}

// Brick: red bricks with dark mortar, rows offset by half a brick.
const BRICK = texture(
  [
    [178, 58, 40],
    [70, 30, 24],
  ],
  ["00001000", "00001000", "11111111", "10000000", "10000000", "11111111", "00001000", "00001000"],
);

// Stone: big blue-grey blocks with dark seams.
const STONE = texture(
  [
    [96, 120, 168],
    [40, 48, 72],
    [128, 150, 196],
  ],
  ["22200222", "20000200", "00000000", "11111111", "00011000", "00010000", "00010000", "11111111"],
);

// Moss: green planks, vertical.
const MOSS = texture(
  [
    [70, 150, 70],
    [30, 80, 36],
    [110, 190, 90],
  ],
  ["20012001", "20012001", "00010001", "00010001", "00210021", "00210021", "00010001", "00010001"],
);

// Door: bright yellow with a dark frame and handle bar, unmistakable from every other material.
const DOOR = texture(
  [
    [236, 196, 40],
    [90, 60, 20],
    [250, 236, 150],
  ],
  ["11111111", "10222201", "10000001", "10000001", "10011001", "10000001", "10000001", "11111111"],
);

/** Texture per cell kind, indexed by `CELL` values (index 0, empty, is never drawn). */
export const WALL_TEXTURES: readonly Uint32Array[] = [BRICK, BRICK, STONE, MOSS, DOOR];

/** The wanderer: a magenta blob with a white eye; 0 = transparent. */
export const SPRITE_TEXTURE = texture(
  [
    [0, 0, 0],
    [220, 40, 200],
    [255, 255, 255],
    [20, 20, 40],
    [150, 20, 140],
  ],
  ["00111100", "01111110", "11222211", "11223211", "11222211", "14111141", "14444441", "01100110"],
);

export const FLOOR_COLORS: readonly Rgb[] = [
  [150, 120, 84],
  [88, 70, 52],
];
export const CEILING_COLORS: readonly Rgb[] = [
  [60, 64, 84],
  [120, 126, 150],
];

export const HUD = {
  panel: packRgb(16, 16, 24),
  marker: packRgb(250, 250, 250),
  north: packRgb(220, 50, 50),
  door: packRgb(236, 196, 40),
  use: packRgb(60, 220, 90),
  air: packRgb(60, 200, 230),
} as const;
