/**
 * The outbound listener when iptables captures the application's traffic (`--capture`).
 * Every TCP connection the application opens arrives here; its original destination
 * (original-destination.ts) decides what it is:
 *
 *   a mesh Service's HTTP port   → the HTTP path (outbound.ts), routed by Host, or by the
 *                                  original destination when the Host names no mesh service;
 *   a mesh Service's TCP port    → TCP forwarding over mTLS (tcp.ts), the opaque case that
 *                                  only the original destination can route;
 *   an address the config lacks  → with `outbound.onDemand`, asked of the control plane once
 *                                  (on-demand.ts), then one of the above;
 *   anything else                → passed through unchanged to where the application sent it
 *                                  (the proxy's uid is not captured), as if no mesh were there;
 *   no original destination      → the application addressed the listener itself
 *                                  (`HTTP_PROXY`): the HTTP path, as without capture.
 *
 * Calls to a pod IP pass through in plaintext: the destination's own capture sends them to its
 * inbound listener, which judges them as unauthenticated (refused in strict namespaces).
 */
import net, { type Socket } from 'node:net';
import type { ProxyContext } from './context.ts';
import type { Frontend } from './frontend.ts';
import type { ConnectionFacts } from './h2-frontend.ts';
import type { ListenerLimits } from './limits.ts';
import { originalDestination, type Destination } from './original-destination.ts';
import { forwardOutboundTcp, pipeBoth } from './tcp.ts';
import { capOutboundConnections, createListener } from './listener.ts';

function passThrough(ctx: ProxyContext, socket: Socket, to: Destination, limits: ListenerLimits): void {
  ctx.telemetry.tcpConnections.labels({ direction: 'outbound', destination_namespace: '', destination_service: '', result: 'passthrough' }).inc();
  const upstream = net.connect({ host: to.address, port: to.port });
  for (const s of [socket, upstream]) s.setTimeout(limits.idleMs, () => s.destroy());
  pipeBoth(ctx, socket, upstream, { direction: 'outbound', destination_namespace: '', destination_service: '' });
  socket.resume();
}

/** The outbound listener without capture: every connection is the application's HTTP (HTTP_PROXY style). */
export function acceptOutbound(ctx: ProxyContext, frontend: Frontend, limits: ListenerLimits): net.Server {
  const server = createListener((socket) => {
    socket.on('error', () => socket.destroy());
    frontend.acceptPlain(socket, socket.remoteAddress ? { remoteAddress: socket.remoteAddress } : {});
  });
  capOutboundConnections(server, limits.maxConnections, ctx.telemetry);
  return server;
}

export function acceptCapturedOutbound(ctx: ProxyContext, frontend: Frontend, limits: ListenerLimits, ownPort: () => number): net.Server {
  const server = createListener((socket) => {
    socket.on('error', () => socket.destroy());
    const to = originalDestination(socket);
    const http = (facts: ConnectionFacts = {}) => frontend.acceptPlain(socket, { ...facts, ...(socket.remoteAddress ? { remoteAddress: socket.remoteAddress } : {}) });
    if (!to || (to.port === ownPort() && (to.address === socket.localAddress || to.address.startsWith('127.')))) {
      http();
      return;
    }
    const route = (mayAsk: boolean) => {
      const state = ctx.state;
      const target = state?.hosts.lookupAuthority({ name: to.address, port: to.port });
      if (!target && mayAsk && state?.config.outbound.onDemand && ctx.onDemand && !socket.destroyed) {
        // An address this proxy has not been configured for: ask once whether it is a mesh Service (the socket waits, paused).
        void ctx.onDemand.resolve(to.address).then((result) => {
          if (socket.destroyed) return;
          if (result === 'found') route(false);
          else passThrough(ctx, socket, to, limits);
        });
        return;
      }
      if (!target) {
        passThrough(ctx, socket, to, limits);
        return;
      }
      if (target.port.protocol === 'tcp') {
        // Still paused: the connection upstream is made first, and the pipe then resumes it.
        forwardOutboundTcp(ctx, socket, target.service, target.port);
        return;
      }
      http({ originalAuthority: `${to.address}:${to.port}` });
    };
    route(true);
  });
  capOutboundConnections(server, limits.maxConnections, ctx.telemetry);
  return server;
}
