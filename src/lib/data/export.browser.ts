/**
 * Saving exports (export.ts bundles) from a page, and opening them again. Where the File System
 * Access API exists (Chromium), a folder export writes each file into a folder the user picks and
 * a file export asks where to save one tar archive; elsewhere the archive is downloaded through a
 * Blob and an `<a download>`. Nothing leaves the machine: every path writes to the local disk.
 */
import { GamedreamError } from "../core/index.js";
import { bundleToTar, tarToFiles, type ExportBundle } from "./export.js";

export type SaveMethod = "auto" | "folder" | "file" | "download";

interface FsWritable {
  write(data: Blob | BufferSource): Promise<void>;
  close(): Promise<void>;
}
interface FsFileHandle {
  kind: "file";
  name: string;
  createWritable(): Promise<FsWritable>;
  getFile(): Promise<File>;
}
interface FsDirectoryHandle {
  kind: "directory";
  name: string;
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<FsDirectoryHandle>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<FsFileHandle>;
  values(): AsyncIterable<FsFileHandle | FsDirectoryHandle>;
}
interface FsAccessWindow {
  showSaveFilePicker?(options: {
    suggestedName: string;
    types?: { description: string; accept: Record<string, string[]> }[];
  }): Promise<FsFileHandle>;
  showDirectoryPicker?(options?: { mode?: "read" | "readwrite"; id?: string }): Promise<FsDirectoryHandle>;
  showOpenFilePicker?(options?: {
    types?: { description: string; accept: Record<string, string[]> }[];
  }): Promise<FsFileHandle[]>;
}

const fsWindow = (): FsAccessWindow => globalThis as unknown as FsAccessWindow;

/** Which ways of saving this browser offers. */
export function saveMethods(): { folder: boolean; file: boolean; download: boolean } {
  const w = fsWindow();
  return {
    folder: typeof w.showDirectoryPicker === "function",
    file: typeof w.showSaveFilePicker === "function",
    download: typeof document !== "undefined",
  };
}

const bytesPart = (b: Uint8Array): ArrayBuffer =>
  b.byteOffset === 0 && b.byteLength === b.buffer.byteLength
    ? (b.buffer as ArrayBuffer)
    : (b.slice().buffer as ArrayBuffer);

function cancelled(e: unknown): boolean {
  return (e as { name?: string })?.name === "AbortError";
}

/** Triggers a download of `blob` named `name` (the fallback that works in every browser). */
export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.style.display = "none";
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started by now; the URL can go once the click has been handled.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Saves `bundle` the chosen way (`auto`: a folder where the browser can, else a download) and
 * says where it went. A cancelled picker resolves with `{ method: "cancelled" }`.
 */
export async function saveBundle(
  bundle: ExportBundle,
  method: SaveMethod = "auto",
): Promise<{ method: SaveMethod | "cancelled"; where: string }> {
  const can = saveMethods();
  const chosen: SaveMethod = method === "auto" ? (can.folder ? "folder" : "download") : method;
  try {
    if (chosen === "folder") {
      if (!can.folder) throw unsupported("choosing a folder");
      const parent = await fsWindow().showDirectoryPicker!({ mode: "readwrite", id: "gamedream-export" });
      const dir = await parent.getDirectoryHandle(bundle.name, { create: true });
      for (const [path, bytes] of bundle.files) {
        let at = dir;
        const parts = path.split("/");
        for (const part of parts.slice(0, -1)) at = await at.getDirectoryHandle(part, { create: true });
        const writable = await (await at.getFileHandle(parts.at(-1)!, { create: true })).createWritable();
        await writable.write(bytesPart(bytes));
        await writable.close();
      }
      return { method: "folder", where: `folder ${parent.name}/${bundle.name}` };
    }
    const archive = new Blob([bytesPart(bundleToTar(bundle))], { type: "application/x-tar" });
    const fileName = `${bundle.name}.tar`;
    if (chosen === "file") {
      if (!can.file) throw unsupported("choosing where to save a file");
      const handle = await fsWindow().showSaveFilePicker!({
        suggestedName: fileName,
        types: [{ description: "tar archive", accept: { "application/x-tar": [".tar"] } }],
      });
      const writable = await handle.createWritable();
      await writable.write(archive);
      await writable.close();
      return { method: "file", where: `file ${handle.name}` };
    }
    downloadBlob(archive, fileName);
    return { method: "download", where: `download ${fileName}` };
  } catch (e) {
    if (cancelled(e)) return { method: "cancelled", where: "" };
    throw e;
  }
}

function unsupported(what: string): GamedreamError {
  return new GamedreamError(
    "EXPORT_UNSUPPORTED",
    "storage",
    `This browser does not support ${what}; use the download instead.`,
    { recoverable: true },
  );
}

/** The files of an export: a tar archive (`File` from an input or a drop). */
export async function readExportFile(file: Blob & { name?: string }): Promise<Map<string, Uint8Array>> {
  return tarToFiles(new Uint8Array(await file.arrayBuffer()), file.name ?? "The file");
}

/** The files of an export saved as a folder, chosen by the user (File System Access API only). */
export async function readExportFolder(): Promise<Map<string, Uint8Array> | null> {
  if (!saveMethods().folder) throw unsupported("opening a folder");
  let dir: FsDirectoryHandle;
  try {
    dir = await fsWindow().showDirectoryPicker!({ mode: "read", id: "gamedream-export" });
  } catch (e) {
    if (cancelled(e)) return null;
    throw e;
  }
  const files = new Map<string, Uint8Array>();
  const walk = async (d: FsDirectoryHandle, prefix: string): Promise<void> => {
    for await (const entry of d.values()) {
      if (entry.kind === "directory") await walk(entry, `${prefix}${entry.name}/`);
      else files.set(prefix + entry.name, new Uint8Array(await (await entry.getFile()).arrayBuffer()));
    }
  };
  await walk(dir, "");
  return files;
}

/** Saves a JSON document (e.g. a dataset's actions and metadata) as a `.json` file, the chosen way. */
export async function saveJson(
  value: unknown,
  name: string,
  method: Exclude<SaveMethod, "folder"> = "auto",
): Promise<{ method: SaveMethod | "cancelled"; where: string }> {
  const blob = new Blob([JSON.stringify(value, null, 2)], { type: "application/json" });
  const fileName = `${name}.json`;
  const useFile = method === "file" || (method === "auto" && saveMethods().file);
  if (useFile) {
    try {
      const handle = await fsWindow().showSaveFilePicker!({
        suggestedName: fileName,
        types: [{ description: "JSON", accept: { "application/json": [".json"] } }],
      });
      const writable = await handle.createWritable();
      await writable.write(blob);
      await writable.close();
      return { method: "file", where: `file ${handle.name}` };
    } catch (e) {
      if (cancelled(e)) return { method: "cancelled", where: "" };
      throw e;
    }
  }
  downloadBlob(blob, fileName);
  return { method: "download", where: `download ${fileName}` };
}
