// gRPC without dependencies, for the demo apps (they run on a bare Node image): HTTP/2 with
// gRPC's framing (1-byte compressed flag, 4-byte length, message) around JSON messages
// (`application/grpc+json`), the status in the grpc-status trailer. Plain node:http2.
import http2 from 'node:http2';

export const me = { ip: process.env.POD_IP ?? '0.0.0.0', port: Number(process.env.PORT ?? 50051), name: process.env.POD_NAME ?? 'app' };

function frame(message) {
  const body = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

function unframe(buffer) {
  return buffer.length >= 5 ? JSON.parse(buffer.subarray(5, 5 + buffer.readUInt32BE(1)).toString()) : undefined;
}

/** Serves `methods` ({ '/pkg.Service/Method': async (request) => response }) over h2c. */
export function serveGrpc(methods) {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', async () => {
      const handler = methods[headers[':path']];
      stream.respond({ ':status': 200, 'content-type': 'application/grpc+json' }, { waitForTrailers: true });
      let status = 0;
      let message = '';
      if (!handler) {
        status = 12;
        message = `no method ${headers[':path']}`;
      } else {
        try {
          stream.write(frame(await handler(unframe(Buffer.concat(chunks)))));
        } catch (err) {
          status = 13;
          message = err.message;
        }
      }
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(status), ...(message ? { 'grpc-message': encodeURIComponent(message) } : {}) }));
      stream.end();
    });
    stream.on('error', () => undefined);
  });
  server.listen(me.port, me.ip, () => console.log(`${me.name} serving gRPC on ${me.ip}:${me.port}`));
  return server;
}

/**
 * One HTTP/2 connection to `authority` (through the sidecar named by HTTP_PROXY, or directly
 * where the sidecar captures traffic); `call(path, request)` → { status, message, response }.
 */
export function grpcClient(authority) {
  const proxy = process.env.HTTP_PROXY ? new URL(process.env.HTTP_PROXY) : undefined;
  let session;
  let connections = 0;
  const connect = () => {
    if (session && !session.closed && !session.destroyed) return session;
    connections++;
    session = http2.connect(proxy ? `http://${proxy.host}` : `http://${authority}`);
    session.on('error', () => undefined);
    return session;
  };
  const call = (path, request) => new Promise((resolve) => {
    const stream = connect().request({ ':method': 'POST', ':path': path, ':authority': authority, 'content-type': 'application/grpc+json', te: 'trailers', 'grpc-timeout': '5S' });
    const chunks = [];
    let headers = {};
    const done = (trailers) => {
      const status = Number(trailers['grpc-status'] ?? headers['grpc-status'] ?? 2);
      resolve({ status, message: decodeURIComponent(String(trailers['grpc-message'] ?? headers['grpc-message'] ?? '')), response: unframe(Buffer.concat(chunks)) });
    };
    stream.on('response', (h) => { headers = h; });
    stream.on('data', (c) => chunks.push(c));
    stream.on('trailers', (t) => done(t));
    stream.on('end', () => done({}));
    stream.on('error', (err) => resolve({ status: 14, message: err.message }));
    stream.end(frame(request));
  });
  return { call, connections: () => connections };
}
