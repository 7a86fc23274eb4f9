// The caller: ten gRPC calls a second to the greeter, all on one HTTP/2 connection, and a
// report every 10 s of which version answered: the sidecar balances per call, so the
// TrafficSplit's weights hold although the connection never changes. It also tries
// demo.Greeter/Admin, which no TrafficTarget allows it: PERMISSION_DENIED (7).
import { grpcClient } from './grpc-lite.mjs';

const greeter = grpcClient('greeter.grpc-demo:50051');
let counts = { calls: 0, v1: 0, v2: 0, failed: 0 };
setInterval(async () => {
  const got = await greeter.call('/demo.Greeter/SayHello', { name: 'caller' });
  counts.calls++;
  if (got.status === 0 && got.response) counts[got.response.version] = (counts[got.response.version] ?? 0) + 1;
  else counts.failed++;
}, 100);
setInterval(async () => {
  const admin = await greeter.call('/demo.Greeter/Admin', {});
  console.log(`caller: last 10s ${counts.calls} calls on ${greeter.connections()} connection(s), v1 ${counts.v1}, v2 ${counts.v2}, failed ${counts.failed}; Admin → grpc-status ${admin.status} ${admin.message}`);
  counts = { calls: 0, v1: 0, v2: 0, failed: 0 };
}, 10_000);
