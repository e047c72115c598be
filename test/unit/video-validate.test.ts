import { describe, expect, it } from "vitest";
import { checkCodec, checkHeader, checkResolution, sniffContainer } from "../../src/lib/video/index.js";
import { isGamedreamError } from "../../src/lib/core/index.js";

const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? Array.from(p, (c) => c.charCodeAt(0)) : p)));

const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (isGamedreamError(e)) {
      expect(e.type).toBe("video");
      expect(e.message.length).toBeGreaterThan(20);
      return e.code;
    }
    throw e;
  }
  return "ok";
};

describe("container sniffing from bytes", () => {
  it("recognises MP4 and WebM whatever the name", () => {
    expect(sniffContainer(bytes([0, 0, 0, 32], "ftypisom", [0, 0, 2, 0]))).toEqual({ kind: "video", container: "mp4" });
    expect(
      sniffContainer(
        bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84], "webm", [0x42, 0x87]),
      ),
    ).toEqual({
      kind: "video",
      container: "webm",
    });
  });

  it("names what a non-video file looks like", () => {
    expect(sniffContainer(bytes("Hello, this is a text file.\n"))).toEqual({ kind: "not-video", looksLike: "text" });
    expect(sniffContainer(bytes([0x89], "PNG", [13, 10, 26, 10]))).toMatchObject({ looksLike: "a PNG image" });
    expect(sniffContainer(bytes([0, 0, 0, 28], "ftypavif", [0, 0, 0, 0]))).toMatchObject({ kind: "not-video" });
    expect(sniffContainer(bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88], "matroska"))).toMatchObject({
      kind: "other-video",
    });
    expect(sniffContainer(bytes([0, 0, 0, 20], "ftypqt  "))).toMatchObject({ kind: "other-video" });
    expect(sniffContainer(bytes([0, 1, 2, 3, 0, 0, 0, 0, 0xff, 0x00]))).toMatchObject({
      looksLike: "unrecognised data",
    });
  });

  it("checks size, container, resolution and codec with typed errors", () => {
    const mp4 = bytes([0, 0, 0, 32], "ftypisom");
    expect(checkHeader("a.mp4", 1000, mp4)).toBe("mp4");
    expect(codeOf(() => checkHeader("a.mp4", 0, mp4))).toBe("VIDEO_EMPTY");
    expect(codeOf(() => checkHeader("a.mp4", 100 * 1024 * 1024 + 1, mp4))).toBe("VIDEO_TOO_LARGE");
    expect(codeOf(() => checkHeader("a.mp4", 10, bytes("just text here")))).toBe("VIDEO_NOT_VIDEO");
    expect(codeOf(() => checkResolution("a", 1920, 1080))).toBe("ok");
    expect(codeOf(() => checkResolution("a", 1080, 1920))).toBe("ok");
    expect(codeOf(() => checkResolution("a", 1921, 1080))).toBe("VIDEO_RESOLUTION_TOO_HIGH");
    expect(codeOf(() => checkResolution("a", 1440, 1440))).toBe("VIDEO_RESOLUTION_TOO_HIGH");
    expect(checkCodec("a", "avc")).toBe("h264");
    expect(checkCodec("a", "vp9")).toBe("vp9");
    expect(codeOf(() => checkCodec("a", "hevc"))).toBe("VIDEO_UNSUPPORTED_CODEC");
  });
});
