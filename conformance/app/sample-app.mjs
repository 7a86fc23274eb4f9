// The conformance suite's sample app, written for this suite with the observable behaviour of
// the upstream one (layer5io/learn-layer5 smi-conformance/service), plain Node, no packages:
//
//   POST   /call    {url, method, headers, body}: makes that request, adding the header
//                   `ServiceName: <SERVICE_NAME>`; answer status 200–399 → RespSucceeded,
//                   other status → RespFailed; a transport error (DNS, reset, refused) →
//                   500 and nothing recorded, as upstream does.
//                   Beyond upstream, `tcp://host:port` and `udp://host:port` send one line
//                   `<SERVICE_NAME>` and wait for the echo: an answer → RespSucceeded; a
//                   connection closed or reset without one, or silence (UDP: 2 s) →
//                   RespFailed (a denial has no status below HTTP); DNS failure → 500.
//   GET    /echo    echoes the request (and counts it as received), naming the pod that
//                   answers (POD_NAMESPACE/POD_NAME, when set).
//   GET    /metrics {ReqReceived: [ServiceName of every /call and /echo received], RespSucceeded, RespFailed}
//   DELETE /metrics resets them.
//
//   TCP_PORT (9092) and UDP_PORT (9093): line echo, `<caller>` → `<SERVICE_NAME> <caller>`,
//                   the caller counted as received.
//
// Listens on PORT (9091), TCP_PORT and UDP_PORT (on POD_IP when set, as Skiff's local mode
// runs pods on their own loopback addresses; a port already taken there is logged and left
// out), and calls nothing but what /call names. With HTTP_PROXY set (local mode: the pod's
// sidecar) HTTP calls go through it as any HTTP client uses a proxy: the absolute URL as the
// request target, the authority as Host.
import dgram from 'node:dgram';
import dns from 'node:dns/promises';
import http from 'node:http';
import net from 'node:net';

const name = process.env.SERVICE_NAME ?? 'app';
const port = Number(process.env.PORT ?? 9091);
const tcpPort = Number(process.env.TCP_PORT ?? 9092);
const udpPort = Number(process.env.UDP_PORT ?? 9093);
const host = process.env.POD_IP || undefined;
// Which pod answered an echo (`namespace/name`, when the environment says): a report can name it.
const pod = process.env.POD_NAMESPACE && process.env.POD_NAME ? `${process.env.POD_NAMESPACE}/${process.env.POD_NAME}` : undefined;
const proxy = process.env.HTTP_PROXY ? new URL(process.env.HTTP_PROXY) : undefined;
let metrics = { ReqReceived: [], RespSucceeded: [], RespFailed: [] };
const agent = new http.Agent({ keepAlive: true });

function send(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

/** A TCP line exchange: {status: 200, body} on an answer, {status: 0} when there was none. */
function callTcp(url) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    let text = '';
    let settled = false;
    const done = (result) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(10_000, () => done({ status: 0, body: 'no answer' }));
    socket.on('connect', () => socket.write(`${name}\n`));
    socket.on('data', (c) => {
      text += c;
      if (text.includes('\n')) done({ status: 200, body: text.trim() });
    });
    socket.on('error', (err) => done(err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' ? { error: err.message } : { status: 0, body: err.message }));
    socket.on('close', () => done({ status: 0, body: 'closed without an answer' }));
  });
}

/** A UDP datagram and its echo within 2 s. */
async function callUdp(url) {
  let address;
  try {
    address = (await dns.lookup(url.hostname)).address;
  } catch (err) {
    return { error: err.message };
  }
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish({ status: 0, body: 'no answer' }), 2000);
    function finish(result) {
      clearTimeout(timer);
      socket.close();
      resolve(result);
    }
    socket.on('message', (m) => finish({ status: 200, body: m.toString().trim() }));
    socket.on('error', (err) => finish({ status: 0, body: err.message }));
    socket.send(`${name}\n`, Number(url.port), address);
  });
}

function call(spec) {
  let url;
  try {
    url = new URL(spec.url);
  } catch {
    return Promise.resolve({ error: `bad url ${spec.url}` });
  }
  if (url.protocol === 'tcp:') return callTcp(url);
  if (url.protocol === 'udp:') return callUdp(url);
  return new Promise((resolve) => {
    const body = typeof spec.body === 'string' ? spec.body : '';
    const headers = { ...(spec.headers ?? {}), ServiceName: name, ...(body ? { 'content-length': Buffer.byteLength(body) } : {}) };
    const options = { method: spec.method ?? 'GET', agent, timeout: 10_000, headers };
    const onResponse = (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', (err) => resolve({ error: err.message }));
    };
    const req = proxy && url.protocol === 'http:'
      ? http.request({ ...options, host: proxy.hostname, port: Number(proxy.port || 80), path: url.href, headers: { ...headers, host: url.host } }, onResponse)
      : http.request(url, options, onResponse);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(body);
  });
}

http.createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => { raw += c; });
  req.on('end', async () => {
    const path = (req.url ?? '/').split('?')[0];
    const caller = req.headers.servicename;
    if (path === '/metrics' && req.method === 'GET') return send(res, 200, metrics);
    if (path === '/metrics' && req.method === 'DELETE') {
      metrics = { ReqReceived: [], RespSucceeded: [], RespFailed: [] };
      return send(res, 200, metrics);
    }
    if (path === '/echo') {
      metrics.ReqReceived.push(caller ?? '');
      return send(res, 200, { service: name, ...(pod ? { pod } : {}), method: req.method, path: req.url, headers: req.headers });
    }
    if (path === '/call' && req.method === 'POST') {
      metrics.ReqReceived.push(caller ?? '');
      let spec;
      try {
        spec = JSON.parse(raw);
      } catch {
        return send(res, 400, { error: 'the body must be JSON {url, method, headers, body}' });
      }
      const result = await call(spec);
      if (result.error) return send(res, 500, { error: result.error });
      (result.status >= 200 && result.status < 400 ? metrics.RespSucceeded : metrics.RespFailed).push({ url: spec.url, status: result.status });
      return send(res, 200, result);
    }
    return send(res, 404, { error: `no ${req.method} ${path}` });
  });
}).listen(port, host, () => console.log(`${name} listening on ${port}`));

net.createServer((socket) => {
  let text = '';
  socket.on('error', () => socket.destroy());
  socket.setTimeout(30_000, () => socket.destroy());
  socket.on('data', (c) => {
    text += c;
    if (text.length > 1024) socket.destroy();
    const line = text.indexOf('\n');
    if (line < 0) return;
    const caller = text.slice(0, line).trim();
    text = text.slice(line + 1);
    metrics.ReqReceived.push(caller);
    socket.write(`${name} ${caller}\n`);
  });
}).on('error', (err) => console.log(`${name}: no TCP echo (${err.message})`))
  .listen(tcpPort, host, () => console.log(`${name} echoing TCP on ${tcpPort}`));

const udp = dgram.createSocket('udp4');
udp.on('message', (m, from) => {
  const caller = m.toString().slice(0, 256).trim();
  metrics.ReqReceived.push(caller);
  udp.send(`${name} ${caller}\n`, from.port, from.address);
});
udp.on('error', (err) => console.log(`${name}: no UDP echo (${err.message})`));
udp.bind(udpPort, host, () => console.log(`${name} echoing UDP on ${udpPort}`));
