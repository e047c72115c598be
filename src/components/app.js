// The web-app side of every built page: registers the service worker that keeps the site, the tfjs
// wasm binaries and the shipped weights usable offline, and reports its state to the storage page.
// scripts/service-worker.ts bundles this module into dist/sw-register.js and loads it from every
// built page, next to a <meta name="gamedream-sw"> tag; `npm run dev` pages have no such tag, so
// nothing is registered or cached there and live reload sees every edit.

/** Cache API caches whose names start with this hold one version of the site (see scripts/service-worker.ts). */
export const SITE_CACHE_PREFIX = "gamedream-site-";

/** URL of the built site's service worker, or null in `npm run dev`. */
export function serviceWorkerUrl() {
  const meta = typeof document === "undefined" ? null : document.querySelector('meta[name="gamedream-sw"]');
  return meta ? new URL(meta.getAttribute("content"), document.baseURI) : null;
}

/** sessionStorage key: set when this tab reloaded a page to make it cross-origin isolated (never twice). */
export const ISOLATION_RELOAD_KEY = "gamedream-isolation-reload";

/**
 * Why this page is or is not cross-origin isolated (wasm threads need it), in words:
 * `{isolated, reason}`. Shown by the device page.
 */
export function isolationStatus() {
  const isolated = typeof crossOriginIsolated !== "undefined" && crossOriginIsolated === true;
  if (isolated) return { isolated, reason: "This page is cross-origin isolated (COOP/COEP), so wasm may use threads." };
  const controlled =
    typeof navigator !== "undefined" && "serviceWorker" in navigator && navigator.serviceWorker.controller !== null;
  const built = serviceWorkerUrl() !== null;
  let reason;
  if (!built)
    reason =
      "This page is not cross-origin isolated: the server sends no COOP/COEP headers (npm run dev and npm run serve do; see scripts/serve.ts).";
  else if (!controlled)
    reason =
      "This page is not cross-origin isolated yet: the host sends no COOP/COEP headers and the site's service worker, which adds them, is not in charge of this page yet. It reloads the page once when it is (or reload it yourself after the offline copy is installed).";
  else
    reason =
      "This page is not cross-origin isolated although the service worker serves it: this browser does not isolate pages on a service worker's headers, or an old version of the site is in charge (reload).";
  return { isolated, reason };
}

/**
 * On a host without COOP/COEP the page is not cross-origin isolated until the service worker,
 * which adds those headers to what it serves, controls it: that happens the moment the worker
 * first activates (it claims open pages). Reload then, once per tab, and only if nobody has
 * started using the page (a key press or pointer press cancels it; the device page says why wasm
 * is single-threaded instead).
 */
let reloadArmed = false;
function reloadOnceIsolatable() {
  if (reloadArmed || typeof crossOriginIsolated === "undefined" || crossOriginIsolated) return;
  reloadArmed = true;
  try {
    if (sessionStorage.getItem(ISOLATION_RELOAD_KEY) === location.pathname) return;
  } catch {
    return; // no session storage (a sandboxed view): never risk a reload loop
  }
  let used = false;
  const markUsed = () => (used = true);
  for (const type of ["keydown", "pointerdown"]) addEventListener(type, markUsed, { once: true, capture: true });
  const reload = () => {
    if (used || crossOriginIsolated) return;
    sessionStorage.setItem(ISOLATION_RELOAD_KEY, location.pathname);
    location.reload();
  };
  if (navigator.serviceWorker.controller) return; // served by the worker and still not isolated: reloading would not help
  navigator.serviceWorker.addEventListener("controllerchange", reload, { once: true });
}

/** Registers the service worker (safe to call from any page, any number of times); null where there is none. */
export async function registerServiceWorker() {
  const url = serviceWorkerUrl();
  if (!url || !("serviceWorker" in navigator)) return null;
  try {
    reloadOnceIsolatable();
    return await navigator.serviceWorker.register(url.href, { scope: new URL("./", url).href });
  } catch (error) {
    // Private windows and some embedded views refuse service workers; the site still works online.
    console.warn(`gamedream: offline use is unavailable here (${error.message})`);
    return null;
  }
}

/**
 * Where offline support stands: whether this page is served by the service worker, which site
 * version is cached and how many files it holds, and whether a newer version waits for the next visit.
 */
export async function offlineStatus() {
  const supported = typeof navigator !== "undefined" && "serviceWorker" in navigator;
  const built = serviceWorkerUrl() !== null;
  const registration = supported && built ? await navigator.serviceWorker.getRegistration() : undefined;
  const names =
    typeof caches === "undefined" ? [] : (await caches.keys()).filter((k) => k.startsWith(SITE_CACHE_PREFIX));
  const versions = [];
  for (const name of names)
    versions.push({
      version: name.slice(SITE_CACHE_PREFIX.length),
      files: (await (await caches.open(name)).keys()).length,
    });
  return {
    supported,
    built,
    controlled: supported && navigator.serviceWorker.controller !== null,
    active: Boolean(registration?.active),
    updateWaiting: Boolean(registration?.waiting),
    versions,
  };
}

/** Switches to a downloaded update now (instead of at the next visit) and reloads the page once it is in charge. */
export async function applyUpdate() {
  const registration = await navigator.serviceWorker.getRegistration();
  if (!registration?.waiting) return false;
  navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), { once: true });
  registration.waiting.postMessage({ type: "skip-waiting" });
  return true;
}
