/**
 * How the controller's Node.js runs in its container (deploy/controller.yaml, rendered from
 * src/install/manifests.ts).
 */

/**
 * V8 flags for the controller: a young generation of up to 32 MB per semi-space (V8's default
 * is 16). A reconnect storm of 5,000 proxy streams (bench/scale, alternating runs) allocates
 * per-connection state faster than the default young generation can let it die, so much of
 * it was promoted and marked again by the old generation's collector: with 32 MB the steady
 * RSS was 860-873 MB against 941-944 MB, with the start and CPU unchanged within the noise;
 * at 1,000 proxies (bench/propagation) RSS and CPU per change were the same either way.
 */
export const CONTROLLER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];
