/**
 * Where the Skiff image keeps its programs (scripts/build-image.ts puts them there; the
 * controller's Deployment and injected sidecars run them from there).
 */

/** The Node.js binary of the image (the `node` npm package's). */
export const IMAGE_NODE = '/usr/local/bin/node';

/** The `skiff` CLI's bundle: the image's entrypoint, and the controller's program. */
export const SKIFF_CLI = '/app/skiff.mjs';

/** The sidecar bundle. */
export const SIDECAR_BUNDLE = '/app/skiff-proxy.mjs';
