// A load client for the delivery tests: GETs TARGET at RATE requests a second (never more than
// 512 in flight) and keeps, per response, [time ms, status, hostname of the pod that answered].
// The target's name is resolved once and kept for 30 s (as a JVM or a caching stub resolver
// would): a new connection does not wait on the node's DNS, which the mesh does not carry, so a
// failure here is the mesh's. A timeout says whether the connection was still being made.
// A request without an answer in 20 s is a failure (`error: timeout`): longer than the mesh's
// 15 s default request timeout, so a request the mesh lets hang still fails (as a 504), while a
// loaded 2-core CI machine that stalls everything for a few seconds does not count as one. GET /results on 8080 hands over what was kept since the last call;
// GET /healthz answers once it listens.
import dns from 'node:dns';
import http from 'node:http';

const target = process.env.TARGET ?? 'http://podinfo:9898/';
const rate = Number(process.env.RATE ?? 20);
const MAX_IN_FLIGHT = 512;
const TIMEOUT_MS = 20_000;
// As Node's default agent: an idle socket is closed after 5 s. An agent without a timeout keeps
// idle sockets forever (and then ignores the server's Keep-Alive hint), so the sidecar's
// keep-alive timer (65 s) may close one just as a request goes out on it: a reset no mesh can
// prevent, which real clients avoid the same way.
const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT, timeout: 5000 });
const resolved = new Map();
/** dns.lookup with each answer kept for 30 s. */
function cachedLookup(hostname, options, callback) {
  const key = `${hostname}/${JSON.stringify(options)}`;
  const hit = resolved.get(key);
  if (hit && hit.until > Date.now()) return process.nextTick(() => callback(null, ...hit.answer));
  dns.lookup(hostname, options, (err, address, family) => {
    if (!err) resolved.set(key, { until: Date.now() + 30_000, answer: [address, family] });
    callback(err, address, family);
  });
}
let samples = [];
let inFlight = 0;

function once() {
  if (inFlight >= MAX_IN_FLIGHT) {
    samples.push([Date.now(), 0, 'client-overloaded']);
    return;
  }
  inFlight += 1;
  let settled = false;
  const settle = () => {
    if (settled) return false;
    settled = true;
    inFlight -= 1;
    return true;
  };
  const started = Date.now();
  const req = http.get(target, { agent, timeout: TIMEOUT_MS, lookup: cachedLookup }, (res) => {
    let body = '';
    res.on('data', (c) => { body += c; });
    res.on('end', () => {
      if (!settle()) return;
      let host = '';
      try { host = JSON.parse(body).hostname ?? ''; } catch { /* a proxy's own answer */ }
      // A sidecar's own answer names its reason: kept, so a failure says which proxy and why.
      const reason = res.headers['x-skiff-reason'];
      if (!host && reason) host = `skiff: ${reason}: ${body.slice(0, 200)}`;
      samples.push([started, res.statusCode ?? 0, host]);
    });
  });
  req.on('timeout', () => req.destroy(new Error(req.socket?.connecting ? 'timeout while connecting' : 'timeout')));
  req.on('error', (err) => {
    if (!settle()) return;
    samples.push([started, 0, `error: ${err.message}`]);
  });
}

setInterval(once, 1000 / rate);

http.createServer((req, res) => {
  req.resume();
  if (req.url === '/healthz') return res.writeHead(200).end('ok');
  if (req.url === '/results') {
    const out = samples;
    samples = [];
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(out));
  }
  res.writeHead(404).end();
}).listen(8080, () => console.log(`load client: ${rate}/s to ${target}`));
