// A load client for the delivery tests: GETs TARGET at RATE requests a second (one at a time
// per slot, never more than 64 in flight: 3 s of latency at 20/s) and keeps, per response, [time ms, status, hostname
// of the pod that answered]. GET /results on 8080 hands over what was kept since the last call;
// GET /healthz answers once it listens.
import http from 'node:http';

const target = process.env.TARGET ?? 'http://podinfo:9898/';
const rate = Number(process.env.RATE ?? 20);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
let samples = [];
let inFlight = 0;

function once() {
  if (inFlight >= 64) {
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
  const req = http.get(target, { agent, timeout: 5000 }, (res) => {
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
  req.on('timeout', () => req.destroy(new Error('timeout')));
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
