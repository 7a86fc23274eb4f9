/** How numbers read on the page: the graph's labels and the tables say the same things. */
import type { EdgeTraffic, GraphEdge, GraphNode } from '../view-types.ts';

export function rate(rps: number): string {
  return rps >= 100 ? `${Math.round(rps)}/s` : rps >= 10 ? `${rps.toFixed(1)}/s` : `${rps.toFixed(2)}/s`;
}

export function percent(share: number | null | undefined): string {
  return share === null || share === undefined ? '–' : `${Math.round(share * 1000) / 10}%`;
}

export function latency(ms: number | null): string {
  return ms === null ? '–' : ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

export function trafficText(t: EdgeTraffic | null): string {
  if (!t || t.requests === 0) return 'no requests';
  if (t.successRate === null && t.denied > 0) return `${rate(t.rps)} · all denied (${t.denied})`;
  const parts = [rate(t.rps), `${percent(t.successRate)} ok`, `p99 ${latency(t.p99Ms)}`];
  if (t.denied > 0) parts.push(`${t.denied} denied`);
  return parts.join(' · ');
}

export function edgeLabel(e: GraphEdge): string {
  if (e.kind === 'allowed-unused') return 'allowed, unused';
  if (e.kind === 'backend') return `${e.configuredPercent ?? 0}% set · ${e.observedPercent === null || e.observedPercent === undefined ? '–' : `${e.observedPercent}%`} seen`;
  return trafficText(e.traffic);
}

export function nodeLabel(n: GraphNode): string {
  if (n.kind === 'service') return `${n.name}\n(split root)`;
  if (n.kind === 'external') return n.name;
  return n.meshed ? n.name : `${n.name}\n(no sidecar)`;
}

/** A node's name as a person would say it: namespace/name. */
export function nodeName(n: GraphNode | undefined, id: string): string {
  return n ? (n.namespace && n.kind !== 'external' ? `${n.namespace}/${n.name}` : n.name) : id;
}

const ACCESS_TEXT: Record<GraphEdge['access'], string> = {
  allowed: 'allowed by a TrafficTarget', permissive: 'permissive namespace', 'not-allowed': 'no TrafficTarget allows it', unknown: '–',
};

export function accessText(e: GraphEdge): string {
  return ACCESS_TEXT[e.access];
}
