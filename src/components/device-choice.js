// The user's overrides of the device choice (src/lib/bench/device.ts), kept in localStorage so the
// device page and the training page agree. Cleared by "clear everything" (key prefix gamedream:).
const KEY = "gamedream:device-overrides";

/** `{preset, batchSize, backend}`, each null when automatic. */
export function loadDeviceOverrides() {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? "{}");
    return { preset: saved.preset ?? null, batchSize: saved.batchSize ?? null, backend: saved.backend ?? null };
  } catch {
    return { preset: null, batchSize: null, backend: null };
  }
}

export function saveDeviceOverrides(overrides) {
  localStorage.setItem(KEY, JSON.stringify(overrides));
  return overrides;
}
