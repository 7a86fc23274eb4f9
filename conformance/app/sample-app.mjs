// The conformance suite's sample app, written for this suite with the observable behaviour of
// the upstream one (layer5io/learn-layer5 smi-conformance/service), plain Node, no packages:
//
//   POST   /call    {url, method, headers, body}: makes that request, adding the header
//                   `ServiceName: <SERVICE_NAME>`; answer status 200–399 → RespSucceeded,
//                   other status → RespFailed; a transport error (DNS, reset, refused) →
//                   500 and nothing recorded, as upstream does.
//   GET    /echo    echoes the request (and counts it as received).
//   GET    /metrics {ReqReceived: [ServiceName of every /call and /echo received], RespSucceeded, RespFailed}
//   DELETE /metrics resets them.
//
// Listens on PORT (9091) and calls nothing but what /call names.
import http from 'node:http';

const name = process.env.SERVICE_NAME ?? 'app';
const port = Number(process.env.PORT ?? 9091);
let metrics = { ReqReceived: [], RespSucceeded: [], RespFailed: [] };
const agent = new http.Agent({ keepAlive: true });

function send(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

function call(spec) {
  return new Promise((resolve) => {
    let url;
    try {
      url = new URL(spec.url);
    } catch {
      resolve({ error: `bad url ${spec.url}` });
      return;
    }
    const body = typeof spec.body === 'string' ? spec.body : '';
    const req = http.request(url, { method: spec.method ?? 'GET', agent, timeout: 10_000, headers: { ...(spec.headers ?? {}), ServiceName: name, ...(body ? { 'content-length': Buffer.byteLength(body) } : {}) } }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
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
      return send(res, 200, { service: name, method: req.method, path: req.url, headers: req.headers });
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
}).listen(port, () => console.log(`${name} listening on ${port}`));
