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
import { createCsr, generateKeyPair, privateKeyPem } from '../../lib/x509.ts';
import { identityOf, type CertificateAuthority } from '../ca/authority.ts';
import type { PartialItem, PartialQuery } from './query.ts';
import type { ReplicaAck } from '../controller.ts';

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

  /** Every other Ready replica's answer to one request (those that fail within 2 s are left out and logged). */
  private async askPeers<T>(path: string, what: string, body?: unknown): Promise<T[]> {
    const addresses = await this.peers().catch((err: Error) => {
      this.o.log(`${what}-peers-unknown`, { error: err.message });
      return [];
    });
    const parts = await Promise.all(addresses.map(async (ip) => {
      try {
        const host = ip.includes(':') ? `[${ip}]` : ip;
        const res = await request(`https://${host}:${this.o.port}${path}`, {
          method: body === undefined ? 'GET' : 'POST', dispatcher: this.dispatcher(), headersTimeout: PEER_TIMEOUT_MS, bodyTimeout: PEER_TIMEOUT_MS,
          ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        });
        if (res.statusCode !== 200) throw new Error(`answered ${res.statusCode}: ${(await res.body.text()).slice(0, 200)}`);
        return [(await res.body.json()) as T];
      } catch (err) {
        this.o.log(`${what}-peer-failed`, { peer: ip, error: (err as Error).message });
        return [];
      }
    }));
    return parts.flat();
  }

  partial(query: PartialQuery): Promise<{ items: PartialItem[]; coveredMs: number }[]> {
    return this.askPeers('/v1/traffic/partial', 'traffic', query);
  }

  /**
   * What the proxies streaming from the other replicas applied, and what those that resolve on
   * demand subscribed to (proxy → one answer per replica that heard from it): each proxy
   * acknowledges to the replica it streams from, and the status writer (the leader) needs them all.
   */
  async acks(): Promise<Map<string, ReplicaAck[]>> {
    const out = new Map<string, ReplicaAck[]>();
    for (const part of await this.askPeers<Record<string, ReplicaAck>>('/v1/acks', 'acks')) {
      for (const [proxy, ack] of Object.entries(part)) {
        if (typeof ack?.applied !== 'string') continue;
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
