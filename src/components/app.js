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

/** Registers the service worker (safe to call from any page, any number of times); null where there is none. */
export async function registerServiceWorker() {
  const url = serviceWorkerUrl();
  if (!url || !("serviceWorker" in navigator)) return null;
  try {
    return await navigator.serviceWorker.register(url.href, {scope: new URL("./", url).href});
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
  const names = typeof caches === "undefined" ? [] : (await caches.keys()).filter((k) => k.startsWith(SITE_CACHE_PREFIX));
  const versions = [];
  for (const name of names) versions.push({version: name.slice(SITE_CACHE_PREFIX.length), files: (await (await caches.open(name)).keys()).length});
  return {
    supported,
    built,
    controlled: supported && navigator.serviceWorker.controller !== null,
    active: Boolean(registration?.active),
    updateWaiting: Boolean(registration?.waiting),
    versions
  };
}

/** Switches to a downloaded update now (instead of at the next visit) and reloads the page once it is in charge. */
export async function applyUpdate() {
  const registration = await navigator.serviceWorker.getRegistration();
  if (!registration?.waiting) return false;
  navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), {once: true});
  registration.waiting.postMessage({type: "skip-waiting"});
  return true;
}
