// A stand-in for podinfo (github.com/stefanprodan/podinfo), the app of Flagger's tutorials,
// with the parts of its HTTP API the Flagger tests use, plain Node: the tests build it into an
// image under podinfo's own name, so examples/flagger/ applies unchanged (no registry here).
//
//   GET /               {hostname, version, message}: which pod answered
//   GET /healthz, /readyz, /version
//   GET /status/{code}  answers that status
// Env: PODINFO_UI_MESSAGE (the message), STANDIN_FAILURE=1 (every `/` answers 500: a bad
// version for rollback tests). Listens on 9898, podinfo's default.
import http from 'node:http';
import os from 'node:os';

const version = process.env.PODINFO_VERSION ?? '6.9.2';
const failing = process.env.STANDIN_FAILURE === '1';

function send(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

http.createServer((req, res) => {
  req.resume();
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz' || path === '/readyz') return send(res, 200, { status: 'OK' });
  if (path === '/version') return send(res, 200, { version });
  const status = /^\/status\/(\d{3})$/.exec(path);
  if (status) return send(res, Number(status[1]), { status: Number(status[1]) });
  if (path === '/') return send(res, failing ? 500 : 200, { hostname: os.hostname(), version, message: process.env.PODINFO_UI_MESSAGE ?? '' });
  return send(res, 404, { error: 'not found' });
}).listen(9898, () => console.log(`podinfo stand-in ${version} on 9898${failing ? ', failing' : ''}`));
