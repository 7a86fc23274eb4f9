/**
 * `npm run image`: builds Skiff's OCI image (controller, sidecar and CLI in one) without a
 * container registry, reproducibly: the same sources and Debian package versions give the
 * same digests for layers 1 to 3.
 *
 *   layer 1  a minimal Debian root file system from packages (mmdebstrap --variant=extract:
 *            libc, libstdc++, CA certificates, iptables for the capture step), plus the
 *            users and alternatives links the skipped maintainer scripts would have made;
 *            cached in ~/.cache/skiff/image/ by package list
 *   layer 2  the Node 24 binary the `node` npm package brought
 *   layer 3  Skiff, bundled with esbuild: the whole command (skiff.mjs) and the sidecar alone
 *            (skiff-proxy.mjs, what injected sidecars run, and its code skiff-proxy-body.cjs)
 *   layer 4  the sidecar's V8 code cache (scripts/train-code-cache.ts): trained by running the
 *            sidecar, so its bytes differ from build to build; a sidecar checks that it was
 *            made for its code (lib/code-cache.ts) and compiles without it otherwise
 *
 * Tars are written with sorted names, fixed times and owners; gzip without names or times.
 * Output: dist/skiff-<version>.oci.tar (an OCI image layout in a tar), loadable with
 * `podman load -i` and `ctr -n k8s.io images import`, named localhost/skiff:<version>.
 * Runs as user 65532; the root file system can be mounted read-only.
 *
 *   node scripts/build-image.ts [--out FILE] [--print-digests]
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { sidecarBodyFile } from '../src/lib/code-cache.ts';
import { IMAGE_NODE, SIDECAR_BUNDLE, SKIFF_CLI } from '../src/lib/image-layout.ts';
import { sidecarNodeFlags } from '../src/lib/sidecar-runtime.ts';
import { BUNDLE_ENTRIES, buildBundle, buildSidecarBundle } from '../src/local/bundle.ts';
import { trainCodeCache } from './train-code-cache.ts';
import { buildDashboard, DASHBOARD_FILES } from '../src/dashboard/assets.ts';

const ROOT = resolve(import.meta.dirname, '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
export const IMAGE_NAME = `localhost/skiff:${VERSION}`;
const SUITE = 'bookworm';
const PACKAGES = ['libc6', 'libstdc++6', 'libgcc-s1', 'ca-certificates', 'iptables'];
/** Fixed time for every file and the image config (reproducible builds). */
const EPOCH = 1_700_000_000;
const USER = 65532;
/** The Node.js binary the image ships (and its sidecars' code cache is trained with). */
const NODE_BINARY = join(ROOT, 'node_modules', 'node', 'bin', 'node');
const DEFAULT_CACHE = join(process.env.SKIFF_CACHE ?? join(homedir(), '.cache', 'skiff'), 'image');

const run = (cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 30, ...opts });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const log = (line: string) => process.stderr.write(`[image] ${line}\n`);

/** A directory as a reproducible tar: sorted, fixed owner and time, no atime/ctime headers. */
function tarDirectory(dir: string): Buffer {
  return run('tar', ['--sort=name', '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    `--mtime=@${EPOCH}`, '--owner=0', '--group=0', '--numeric-owner', '-C', dir, '-cf', '-', '.']);
}

/** What maintainer scripts would have done: users, iptables alternatives, the CA bundle; docs dropped. */
function finishRootfs(dir: string): void {
  for (const drop of ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale', 'usr/share/lintian', 'usr/share/gcc', 'usr/share/gdb', 'var/cache', 'var/lib/apt', 'var/log']) {
    rmSync(join(dir, drop), { recursive: true, force: true });
  }
  mkdirSync(join(dir, 'etc'), { recursive: true });
  writeFileSync(join(dir, 'etc/passwd'), `root:x:0:0:root:/root:/usr/sbin/nologin\nskiff:x:${USER}:${USER}:skiff:/nonexistent:/usr/sbin/nologin\n`);
  writeFileSync(join(dir, 'etc/group'), `root:x:0:\nskiff:x:${USER}:\n`);
  writeFileSync(join(dir, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  for (const tool of ['iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore']) {
    const link = join(dir, 'usr/sbin', tool);
    if (!existsSync(link)) symlinkSync('xtables-nft-multi', link);
  }
  const mozilla = join(dir, 'usr/share/ca-certificates/mozilla');
  const bundle = readdirSync(mozilla).filter((f) => f.endsWith('.crt')).sort().map((f) => readFileSync(join(mozilla, f), 'utf8').trimEnd() + '\n').join('');
  mkdirSync(join(dir, 'etc/ssl/certs'), { recursive: true });
  writeFileSync(join(dir, 'etc/ssl/certs/ca-certificates.crt'), bundle);
  mkdirSync(join(dir, 'tmp'), { recursive: true, mode: 0o1777 });
  chmodSync(join(dir, 'tmp'), 0o1777);
}

/** Layer 1, from the cache when this package list was built before. */
function baseLayer(cache: string): Buffer {
  const key = sha256(Buffer.from(`${SUITE}\n${PACKAGES.join(',')}\nv2`)).slice(0, 16);
  const cached = join(cache, `base-${key}.tar`);
  if (existsSync(cached)) return readFileSync(cached);
  log(`building the Debian ${SUITE} base (${PACKAGES.join(', ')}) with mmdebstrap`);
  const work = mkdtempSync(join(tmpdir(), 'skiff-rootfs-'));
  try {
    const raw = join(work, 'raw.tar');
    run('mmdebstrap', ['--quiet', '--variant=extract', `--include=${PACKAGES.join(',')}`, '--format=tar', SUITE, raw], { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) } });
    const dir = join(work, 'rootfs');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    run('tar', ['-C', dir, '-xpf', raw]);
    finishRootfs(dir);
    const tar = tarDirectory(dir);
    mkdirSync(cache, { recursive: true });
    writeFileSync(`${cached}.tmp`, tar);
    renameSync(`${cached}.tmp`, cached);
    return tar;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A layer holding the given files (source → path in the image, mode). */
function filesLayer(files: { from: string; to: string; mode: number }[]): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-layer-'));
  // mkdtemp makes 0700; the layer's root directory entry becomes the image's `/`.
  chmodSync(dir, 0o755);
  try {
    for (const f of files) {
      const target = join(dir, f.to);
      mkdirSync(join(target, '..'), { recursive: true, mode: 0o755 });
      copyFileSync(f.from, target);
      chmodSync(target, f.mode);
    }
    return tarDirectory(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Skiff's two bundles (the whole command, the sidecar alone: its launcher and its code), every
 * dependency inside, the sources' own comments left out; the sidecar's code cache, trained
 * with the Node.js binary and V8 flags the image's sidecars run with; and the dashboard's page.
 */
async function bundles(): Promise<{ dir: string; cli: string; sidecar: { entry: string; body: string; codeCache: string }; dashboard: string }> {
  const esbuild = await import('esbuild');
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bundle-'));
  const cli = join(dir, 'skiff.mjs');
  const sidecar = join(dir, 'skiff-proxy.mjs');
  await buildBundle(esbuild, BUNDLE_ENTRIES.cli, cli, `Skiff ${VERSION}, bundled from src/ with its dependencies (their licences at the end).`);
  const { body } = await buildSidecarBundle(esbuild, sidecar, `Skiff ${VERSION} sidecar (skiff proxy), bundled from src/ with its dependencies (their licences at the end).`);
  const trained = await trainCodeCache(sidecar, NODE_BINARY, sidecarNodeFlags());
  log(`sidecar code cache: ${(trained.bytes / 1e6).toFixed(1)} MB`);
  const dashboard = join(dir, 'dashboard');
  await buildDashboard(esbuild, dashboard);
  return { dir, cli, sidecar: { entry: sidecar, body, codeCache: trained.file }, dashboard };
}

/** koffi (the FFI the captured proxy reads original destinations with) as /app/node_modules: its JS, licence and the glibc x64 binary. */
function nativeFiles(): { from: string; to: string; mode: number }[] {
  const files: { from: string; to: string; mode: number }[] = [];
  const koffi = join(ROOT, 'node_modules', 'koffi');
  for (const f of ['package.json', 'index.cjs', 'index.js', 'LICENSE.txt', 'src/koffi/index.cjs', 'src/koffi/index.js', 'src/koffi/src/static.cjs', 'src/koffi/src/static.js']) files.push({ from: join(koffi, f), to: `app/node_modules/koffi/${f}`, mode: 0o644 });
  const binary = join(ROOT, 'node_modules', '@koromix', 'koffi-linux-x64');
  for (const f of ['package.json', 'index.js', 'linux_x64/koffi.node']) files.push({ from: join(binary, f), to: `app/node_modules/@koromix/koffi-linux-x64/${f}`, mode: 0o644 });
  return files;
}

/** gzip without name or time, so equal tars give equal blobs; kept in the cache by content (the Node layer rarely changes). */
function gzip(tar: Buffer, cache: string): Buffer {
  const cached = join(cache, `layer-${sha256(tar)}.tar.gz`);
  if (existsSync(cached)) return readFileSync(cached);
  const out = execFileSync('gzip', ['-n', '-9', '-c'], { input: tar, maxBuffer: 1 << 30 });
  mkdirSync(cache, { recursive: true });
  writeFileSync(`${cached}.tmp`, out);
  renameSync(`${cached}.tmp`, cached);
  return out;
}

export interface BuiltImage {
  file: string;
  name: string;
  layers: { diffId: string; digest: string; size: number }[];
  manifestDigest: string;
  size: number;
}

export async function buildImage(out = join(ROOT, 'dist', `skiff-${VERSION}.oci.tar`), cache = DEFAULT_CACHE): Promise<BuiltImage> {
  const started = Date.now();
  const skiff = await bundles();
  const tars = [
    baseLayer(cache),
    filesLayer([{ from: NODE_BINARY, to: IMAGE_NODE.slice(1), mode: 0o755 }]),
    filesLayer([{ from: skiff.cli, to: SKIFF_CLI.slice(1), mode: 0o644 }, { from: skiff.sidecar.entry, to: SIDECAR_BUNDLE.slice(1), mode: 0o644 },
      { from: skiff.sidecar.body, to: sidecarBodyFile(SIDECAR_BUNDLE).slice(1), mode: 0o644 }, ...nativeFiles(),
      ...Object.keys(DASHBOARD_FILES).map((f) => ({ from: join(skiff.dashboard, f), to: `app/dashboard/${f}`, mode: 0o644 }))]),
    // Last and alone: the one layer that is trained, not reproduced (V8 writes what the run compiled).
    filesLayer([{ from: skiff.sidecar.codeCache, to: join(dirname(SIDECAR_BUNDLE), basename(skiff.sidecar.codeCache)).slice(1), mode: 0o644 }]),
  ];
  rmSync(skiff.dir, { recursive: true, force: true });
  const written = writeOciImage({
    out, name: IMAGE_NAME, tars, cache,
    config: {
      User: `${USER}:${USER}`, WorkingDir: '/app',
      Entrypoint: [IMAGE_NODE, SKIFF_CLI], Cmd: ['--help'],
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'NODE_ENV=production', 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'],
      Labels: { 'org.opencontainers.image.title': 'skiff', 'org.opencontainers.image.version': VERSION, 'org.opencontainers.image.licenses': 'Apache-2.0', 'org.opencontainers.image.description': 'Skiff SMI service mesh: controller, sidecar and CLI' },
    },
    history: [
      `mmdebstrap --variant=extract ${SUITE}: ${PACKAGES.join(' ')}`,
      `node ${process.versions.node} from the node npm package`,
      `skiff ${VERSION} bundled with esbuild`,
      'the sidecar\'s V8 code cache, trained (scripts/train-code-cache.ts)',
    ],
  });
  const { layers, manifestDigest } = written;
  const size = statSync(out).size;
  log(`${IMAGE_NAME} → ${out} (${(size / 1e6).toFixed(1)} MB compressed, ${(tars.reduce((n, t) => n + t.length, 0) / 1e6).toFixed(1)} MB unpacked) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { file: out, name: IMAGE_NAME, layers, manifestDigest, size };
}

interface OciImageSpec {
  out: string;
  name: string;
  /** Uncompressed layer tars, bottom first. */
  tars: Buffer[];
  cache: string;
  /** The image config's `config` (user, entrypoint, environment, labels). */
  config: Record<string, unknown>;
  /** One line per layer, for the config's history. */
  history: string[];
}

/** Writes an OCI image layout with these layers, as a reproducible tar named `name`. */
export function writeOciImage(spec: OciImageSpec): { layers: BuiltImage['layers']; manifestDigest: string } {
  const layout = mkdtempSync(join(tmpdir(), 'skiff-oci-'));
  chmodSync(layout, 0o755);
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const blob = (data: Buffer) => {
    const digest = sha256(data);
    writeFileSync(join(blobs, digest), data);
    return { digest: `sha256:${digest}`, size: data.length };
  };
  const layers = spec.tars.map((tar) => ({ diffId: `sha256:${sha256(tar)}`, ...blob(gzip(tar, spec.cache)) }));
  const created = new Date(EPOCH * 1000).toISOString();
  const config = blob(Buffer.from(JSON.stringify({
    created, architecture: 'amd64', os: 'linux', config: spec.config,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: spec.history.map((line) => ({ created, created_by: line })),
  })));
  const manifest = blob(Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
  })));
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': spec.name, 'io.containerd.image.name': spec.name } }],
  }));
  mkdirSync(join(spec.out, '..'), { recursive: true });
  writeFileSync(`${spec.out}.tmp`, tarDirectory(layout));
  renameSync(`${spec.out}.tmp`, spec.out);
  rmSync(layout, { recursive: true, force: true });
  return { layers, manifestDigest: manifest.digest };
}

/** An image of one static binary (CoreDNS for the test node, built from Go modules by scripts/k8s-bins.sh). */
export function buildBinaryImage(out: string, name: string, binary: string, args: string[] = [], cache = DEFAULT_CACHE): string {
  const file = binary.split('/').pop() as string;
  const tar = filesLayer([{ from: binary, to: file, mode: 0o755 }]);
  writeOciImage({ out, name, tars: [tar], cache, config: { Entrypoint: [`/${file}`, ...args] }, history: [`${file}, a static binary`] });
  return out;
}

/** An application image on the same base and Node: every `.mjs` file of `appDir` under /apps (test workloads). */
export function buildAppImage(out: string, name: string, appDir: string, cache = DEFAULT_CACHE, entrypoint: string[] = [IMAGE_NODE]): string {
  const files = readdirSync(appDir).filter((f) => f.endsWith('.mjs')).sort().map((f) => ({ from: join(appDir, f), to: `apps/${f}`, mode: 0o644 }));
  writeOciImage({
    out, name, cache,
    tars: [baseLayer(cache), filesLayer([{ from: NODE_BINARY, to: IMAGE_NODE.slice(1), mode: 0o755 }]), filesLayer(files)],
    config: { User: `${USER}:${USER}`, WorkingDir: '/', Entrypoint: entrypoint, Env: ['PATH=/usr/local/bin:/usr/bin:/bin'] },
    history: ['the Skiff base', 'node', `${appDir}: ${files.length} apps`],
  });
  return out;
}

export const PAUSE_IMAGE = 'localhost/pause:3.10';

/** The pod sandbox image: images/pause/pause.c compiled statically (gcc), one file in one layer. */
export function buildPauseImage(out: string, cache = DEFAULT_CACHE): string {
  const work = mkdtempSync(join(tmpdir(), 'skiff-pause-'));
  try {
    run('gcc', ['-static', '-Os', '-s', '-o', join(work, 'pause'), join(ROOT, 'images', 'pause', 'pause.c')]);
    const tar = filesLayer([{ from: join(work, 'pause'), to: 'pause', mode: 0o755 }]);
    writeOciImage({ out, name: PAUSE_IMAGE, tars: [tar], cache, config: { User: '65535:65535', Entrypoint: ['/pause'] }, history: ['images/pause/pause.c, gcc -static'] });
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, 'print-digests': { type: 'boolean' } } });
  const built = await buildImage(values.out ? resolve(values.out) : undefined);
  if (values['print-digests']) process.stdout.write(`${JSON.stringify(built, null, 2)}\n`);
  else process.stdout.write(`${built.file}\n`);
}
