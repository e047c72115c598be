/**
 * A WebM (Matroska) file cut short, made readable up to its last whole block, so every frame
 * that was written completely can be decoded.
 *
 * A recording cut off mid-write keeps its header, which still declares the full Segment and the
 * last Cluster's full size. ffmpeg (Node, ingest.node.ts) decodes the blocks that are there; a
 * demuxer that trusts the declared sizes (mediabunny, ingest.browser.ts) finds the last Cluster
 * running past the end of the file and reads none of its frames: for a short clip, with one
 * Cluster, no frame at all. `repairTruncatedWebm` rewrites the two sizes in place (same field
 * widths, smaller values) to end at the last complete element of that Cluster and drops the
 * partial tail, so both hosts recover the same frames; the truncation itself is still reported
 * by the one rule in ingest.ts (`resampleToBatches`), with the same count on both hosts.
 *
 * EBML layout: every element is [ID: 1-4 bytes][size: 1-8 byte VINT][data]. Level 0: EBML header,
 * Segment. Level 1 (in Segment): SeekHead, Info, Tracks, Cluster, Cues... Level 2 (in Cluster):
 * Timestamp, SimpleBlock, BlockGroup.
 */

const SEGMENT = 0x18538067;
const CLUSTER = 0x1f43b675;

/** Reads bytes `[start, end)` of the file (fewer at its end). */
export type ReadRange = (start: number, end: number) => Promise<Uint8Array>;

interface ElementHeader {
  id: number;
  /** Where the element starts and where its size field starts. */
  start: number;
  sizeAt: number;
  sizeLength: number;
  /** null: the "unknown size" marker (live recordings). */
  size: number | null;
  dataStart: number;
}

async function readHeader(read: ReadRange, at: number): Promise<ElementHeader | null> {
  const b = await read(at, at + 12);
  if (b.length < 2) return null;
  const idLength = Math.clz32(b[0]) - 23; // 1..4 for a valid ID
  if (idLength < 1 || idLength > 4 || b.length < idLength + 1) return null;
  let id = 0;
  for (let i = 0; i < idLength; i++) id = id * 256 + b[i];
  const first = b[idLength];
  const sizeLength = Math.clz32(first) - 23;
  if (sizeLength < 1 || sizeLength > 8 || b.length < idLength + sizeLength) return null;
  let size = first & (0xff >> sizeLength);
  let unknown = size === 0xff >> sizeLength;
  for (let i = 1; i < sizeLength; i++) {
    size = size * 256 + b[idLength + i];
    unknown &&= b[idLength + i] === 0xff;
  }
  return {
    id,
    start: at,
    sizeAt: at + idLength,
    sizeLength,
    size: unknown ? null : size,
    dataStart: at + idLength + sizeLength,
  };
}

/** `value` as a VINT of exactly `length` bytes (it must fit: here it only ever shrinks). */
function encodeSize(value: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  out[0] |= 0x80 >> (length - 1);
  return out;
}

export interface WebmRepair {
  /** Bytes of the repaired file, in order: ranges of the original and rewritten size fields. */
  parts: (readonly [number, number] | Uint8Array)[];
  /** Length of the repaired file (the original up to the last complete element). */
  length: number;
  /** Bytes of the original that were dropped (a partial block, a partial trailing element). */
  dropped: number;
}

/**
 * null when the file is whole (or not a Segment we can walk); otherwise how to make it whole: the
 * Segment and the last Cluster end at the last complete element inside it.
 */
export async function repairTruncatedWebm(read: ReadRange, fileSize: number): Promise<WebmRepair | null> {
  const ebml = await readHeader(read, 0);
  if (!ebml || ebml.size === null) return null;
  const segment = await readHeader(read, ebml.dataStart + ebml.size);
  if (!segment || segment.id !== SEGMENT) return null;
  if (segment.size !== null && segment.dataStart + segment.size <= fileSize) return null;
  // Walk level 1 to the first element that does not end inside the file.
  let at = segment.dataStart;
  let cut = fileSize;
  let patchCluster: { header: ElementHeader; end: number } | null = null;
  while (at < fileSize) {
    const child = await readHeader(read, at);
    if (!child) {
      cut = at;
      break;
    }
    if (child.size !== null && child.dataStart + child.size <= fileSize) {
      at = child.dataStart + child.size;
      continue;
    }
    if (child.id !== CLUSTER) {
      cut = at; // a partial (or unsized) element that holds no frames: dropped
      break;
    }
    // A cluster past the end (or of unknown size, as live recorders write): keep its complete
    // children (timestamp, whole blocks). An unsized cluster ends where a level-1 element starts.
    let inner = child.dataStart;
    let next: number | null = null;
    while (inner < fileSize) {
      const block = await readHeader(read, inner);
      if (block && child.size === null && block.id > 0xffffff) {
        next = inner;
        break;
      }
      if (!block || block.size === null || block.dataStart + block.size > fileSize) break;
      inner = block.dataStart + block.size;
    }
    if (next !== null) {
      at = next;
      continue;
    }
    cut = inner;
    if (child.size !== null) patchCluster = { header: child, end: inner };
    break;
  }
  if (cut === fileSize && segment.size === null) return null;
  const patches: { at: number; bytes: Uint8Array }[] = [];
  if (segment.size !== null)
    patches.push({ at: segment.sizeAt, bytes: encodeSize(cut - segment.dataStart, segment.sizeLength) });
  if (patchCluster)
    patches.push({
      at: patchCluster.header.sizeAt,
      bytes: encodeSize(patchCluster.end - patchCluster.header.dataStart, patchCluster.header.sizeLength),
    });
  const parts: WebmRepair["parts"] = [];
  let from = 0;
  for (const p of patches) {
    parts.push([from, p.at] as const, p.bytes);
    from = p.at + p.bytes.length;
  }
  parts.push([from, cut] as const);
  return { parts, length: cut, dropped: fileSize - cut };
}
