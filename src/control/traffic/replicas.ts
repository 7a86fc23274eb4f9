/**
 * Whole-mesh answers from any replica. Each proxy's report (and ack) lands on exactly one controller
 * replica (the Service picks one per connection), so the replica serving a TrafficMetrics
 * request asks every other Ready replica for its part of the same answer (POST
 * /v1/traffic/partial on the config port, mTLS with the controller's own identity on both
 * ends): counts and latency buckets per item, which add up exactly, since no report is stored
 * twice. What crosses the network is the size of the answer, not of the stores. A replica that
 * does not answer within 2 s is left out and logged; the answer is then partial, never wrong
 * in another way.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { hostname } from 'node:os';
import { Agent, request } from 'undici';
import { createCsr, generateKeyPair, privateKeyPem } from '../../lib/csr.ts';
import { identityOf, type CertificateAuthority } from '../ca/authority.ts';
import type { PartialItem, PartialQuery } from './query.ts';
import { PeerAcks, type ReplicaAck } from '../acks-ledger.ts';

const CLIENT_TTL_MS = 24 * 3600_000;
const PEER_TIMEOUT_MS = 2000;
const POD_LIST_TTL_MS = 5000;

export interface ReplicaPeersOptions {
  kubeconfig: KubeConfig;
  namespace: string;
  /** Label selector of the controller's pods. */
  selector: string;
  port: number;
  ca: CertificateAuthority;
  /** The controller identity both ends must prove. */
  identity: string;
  log: (event: string, detail: Record<string, unknown>) => void;
}

export class ReplicaPeers {
  private readonly o: ReplicaPeersOptions;
  private readonly core: CoreV1Api;
  private agent: { agent: Agent; renewAt: number } | undefined;
  private pods: { at: number; addresses: string[] } | undefined;
  /** Per peer (pod IP): its acks as the last answers left them. */
  private readonly peerAcks = new Map<string, PeerAcks>();

  constructor(o: ReplicaPeersOptions) {
    this.o = o;
    this.core = o.kubeconfig.makeApiClient(CoreV1Api);
  }

  private dispatcher(): Agent {
    if (this.agent && Date.now() < this.agent.renewAt) return this.agent.agent;
    void this.agent?.agent.close().catch(() => undefined);
    const keys = generateKeyPair();
    const issued = this.o.ca.issue(createCsr(keys, this.o.identity), this.o.identity, CLIENT_TTL_MS);
    const agent = new Agent({
      connect: {
        ca: this.o.ca.trustBundle(), cert: issued.certificatePem, key: privateKeyPem(keys.privateKey), minVersion: 'TLSv1.3',
        // Replicas are dialled by pod IP: the check is the SPIFFE identity, not a host name.
        checkServerIdentity: (_host, cert) => (identityOf(cert.raw) === this.o.identity ? undefined : new Error(`the peer is not ${this.o.identity}`)),
      },
      connectTimeout: PEER_TIMEOUT_MS,
    });
    this.agent = { agent, renewAt: Date.now() + CLIENT_TTL_MS / 2 };
    return agent;
  }

  /** Pod IPs of the other Ready controller replicas. */
  private async peers(): Promise<string[]> {
    if (this.pods && Date.now() - this.pods.at < POD_LIST_TTL_MS) return this.pods.addresses;
    const list = await this.core.listNamespacedPod({ namespace: this.o.namespace, labelSelector: this.o.selector });
    const self = hostname();
    const addresses = list.items.filter((p) => p.metadata?.name !== self && !p.metadata?.deletionTimestamp && p.status?.podIP
      && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((p) => p.status?.podIP as string);
    this.pods = { at: Date.now(), addresses };
    return addresses;
  }

  /**
   * Every other Ready replica's answer to one request (those that fail within 2 s are left out
   * and logged), with the peer's address; `path` may differ per peer.
   */
  private async askPeers<T>(path: string | ((ip: string) => string), what: string, body?: unknown, peers?: string[]): Promise<{ ip: string; answer: T }[]> {
    const addresses = peers ?? await this.peers().catch((err: Error) => {
      this.o.log(`${what}-peers-unknown`, { error: err.message });
      return [];
    });
    const parts = await Promise.all(addresses.map(async (ip) => {
      try {
        const host = ip.includes(':') ? `[${ip}]` : ip;
        const res = await request(`https://${host}:${this.o.port}${typeof path === 'string' ? path : path(ip)}`, {
          method: body === undefined ? 'GET' : 'POST', dispatcher: this.dispatcher(), headersTimeout: PEER_TIMEOUT_MS, bodyTimeout: PEER_TIMEOUT_MS,
          ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        });
        if (res.statusCode !== 200) throw new Error(`answered ${res.statusCode}: ${(await res.body.text()).slice(0, 200)}`);
        return [{ ip, answer: (await res.body.json()) as T }];
      } catch (err) {
        this.o.log(`${what}-peer-failed`, { peer: ip, error: (err as Error).message });
        return [];
      }
    }));
    return parts.flat();
  }

  async partial(query: PartialQuery): Promise<{ items: PartialItem[]; coveredMs: number }[]> {
    return (await this.askPeers<{ items: PartialItem[]; coveredMs: number }>('/v1/traffic/partial', 'traffic', query)).map((p) => p.answer);
  }

  /**
   * What the proxies streaming from the other replicas applied, and what those that resolve on
   * demand subscribed to (proxy → one answer per replica that heard from it): each proxy
   * acknowledges to the replica it streams from, and the status writer (the leader) needs them all.
   */
  async acks(): Promise<Map<string, ReplicaAck[]>> {
    const addresses = await this.peers().catch((err: Error) => {
      this.o.log('acks-peers-unknown', { error: err.message });
      return undefined;
    });
    if (!addresses) return new Map();
    // A peer no longer Ready is forgotten; asked again later, it answers whole.
    for (const ip of this.peerAcks.keys()) if (!addresses.includes(ip)) this.peerAcks.delete(ip);
    const viewOf = (ip: string) => {
      let view = this.peerAcks.get(ip);
      if (!view) {
        view = new PeerAcks();
        this.peerAcks.set(ip, view);
      }
      return view;
    };
    const answered = await this.askPeers<unknown>((ip) => `/v1/acks${viewOf(ip).query()}`, 'acks', undefined, addresses);
    const out = new Map<string, ReplicaAck[]>();
    for (const { ip, answer } of answered) {
      const view = viewOf(ip);
      try {
        view.take(answer);
      } catch (err) {
        this.o.log('acks-peer-failed', { peer: ip, error: (err as Error).message });
        this.peerAcks.delete(ip);
        continue;
      }
      for (const [proxy, ack] of view.entries) {
        const list = out.get(proxy) ?? [];
        list.push(ack);
        out.set(proxy, list);
      }
    }
    return out;
  }

  close(): void {
    void this.agent?.agent.close().catch(() => undefined);
  }
}
