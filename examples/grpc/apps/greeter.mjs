// The greeter: a gRPC service (demo.Greeter) in two versions; VERSION is in every answer.
import { me, serveGrpc } from './grpc-lite.mjs';

const version = process.env.VERSION ?? 'v1';
serveGrpc({
  '/demo.Greeter/SayHello': async ({ name }) => ({ version, pod: me.name, greeting: `${version === 'v2' ? 'Hi there' : 'Hello'}, ${name}!` }),
  '/demo.Greeter/Admin': async () => ({ version, secret: 'the caller may not see this' }),
});
