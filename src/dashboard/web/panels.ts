/** The side panels (splits, workloads, problems) and the table view: plain DOM, text only (no HTML from data). */
import type { DashboardView, GraphNode, WorkloadPanel } from '../view-types.ts';
import { accessText, latency, nodeName, percent, rate, trafficText } from './format.ts';

type Child = Node | string;

/** An element with text children only: data never becomes markup. */
export function h(tag: string, attributes: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

export function renderSplits(container: HTMLElement, view: DashboardView): void {
  if (view.splits.length === 0) {
    container.replaceChildren(h('p', { class: 'muted' }, 'No TrafficSplits.'));
    return;
  }
  container.replaceChildren(...view.splits.map((s) => {
    const rows = s.backends.map((b) => {
      const bar = h('div', { class: 'bar', role: 'img', 'aria-label': `${b.service}: configured ${b.configuredPercent}%, observed ${b.observedPercent === null ? 'no traffic' : `${b.observedPercent}%`}` });
      const configured = h('div', { class: 'configured' });
      configured.style.width = `${b.configuredPercent}%`;
      bar.append(configured);
      if (b.observedPercent !== null) {
        const observed = h('div', { class: 'observed' });
        observed.style.left = `calc(${b.observedPercent}% - 1px)`;
        bar.append(observed);
      }
      return h('div', { class: 'backend', 'data-service': b.service },
        h('div', {}, h('strong', {}, b.service), ` configured `, h('span', { class: 'configured-weight' }, `${b.configuredPercent}%`),
          ` · observed `, h('span', { class: 'observed-share' }, b.observedPercent === null ? '–' : `${b.observedPercent}%`), ` · ${rate(b.rps)}`),
        bar);
    });
    const conditions = h('ul', { class: 'conditions' }, ...s.conditions.map((c) => h('li', { class: c.status }, `${c.type}: ${c.status} (${c.reason})${c.status === 'True' ? '' : ` ${c.message}`}`)));
    return h('div', { class: 'split', 'data-split': s.split },
      h('h3', {}, `${s.split} → ${s.root || '(no root)'}`, s.active ? '' : ' — not applied'), ...rows, conditions);
  }));
}

/** The workload buttons: rebuilt only when the workloads change, so keyboard focus stays where it is. */
export function renderWorkloadList(container: HTMLElement, view: DashboardView, selected: string | undefined, onSelect: (id: string) => void): void {
  const ids = view.workloads.map((w) => w.id).join('\n');
  if (container.dataset.ids !== ids) {
    container.dataset.ids = ids;
    container.replaceChildren(...view.workloads.map((w) => {
      const button = h('button', { type: 'button', 'data-id': w.id }, `${w.namespace}/${w.name}`);
      button.addEventListener('click', () => onSelect(w.id));
      return h('li', {}, button);
    }));
  }
  for (const button of container.querySelectorAll('button')) {
    if (button.dataset.id === selected) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
  }
}

function until(iso: string | null, now: number): string {
  if (!iso) return '–';
  const s = Math.round((Date.parse(iso) - now) / 1000);
  return s <= 0 ? 'EXPIRED' : s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min` : s >= 60 ? `${Math.round(s / 60)} min` : `${s} s`;
}

export function renderWorkload(container: HTMLElement, view: DashboardView, id: string | undefined): void {
  const w: WorkloadPanel | undefined = view.workloads.find((x) => x.id === id);
  if (!w) {
    container.replaceChildren(h('p', { class: 'muted' }, 'Select a workload (here or in the graph) for its proxies.'));
    return;
  }
  const now = Date.parse(view.generatedAt);
  const rows = w.pods.map((p) => h('tr', {},
    h('td', {}, p.pod), h('td', {}, p.address), h('td', {}, w.meshed ? (p.connected ? 'connected' : 'not connected') : 'no sidecar'),
    h('td', {}, p.applied ? `${p.applied.slice(0, 8)}${p.upToDate ? ' (current)' : ` (wants ${p.desired?.slice(0, 8) ?? '?'})`}` : '–'),
    h('td', {}, until(p.certificateNotAfter, now))));
  container.replaceChildren(
    h('h3', {}, `${w.workloadKind} ${w.namespace}/${w.name}`),
    h('p', { class: 'muted' }, `identity ${w.identity}`),
    h('table', {}, h('thead', {}, h('tr', {}, ...['Pod', 'Address', 'Proxy', 'Config applied', 'Certificate expires in'].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, ...rows)),
    ...(w.problems.length ? [h('ul', {}, ...w.problems.map((p) => h('li', { class: 'problem' }, p)))] : []),
  );
}

export function renderProblems(container: HTMLElement, view: DashboardView): void {
  container.replaceChildren(...(view.problems.length ? view.problems.map((p) => h('li', {}, p)) : [h('li', { class: 'muted' }, 'None.')]));
}

export function renderTables(edgeBody: HTMLElement, nodeBody: HTMLElement, view: DashboardView): void {
  const nodes = new Map<string, GraphNode>(view.nodes.map((n) => [n.id, n]));
  edgeBody.replaceChildren(...view.edges.map((e) => h('tr', { class: e.denied ? 'denied' : '', 'data-edge': e.id },
    h('td', {}, nodeName(nodes.get(e.source), e.source)), h('td', {}, nodeName(nodes.get(e.target), e.target)),
    h('td', {}, e.kind === 'backend' ? `split backend ${e.backendService ?? ''} (${e.configuredPercent ?? 0}% set, ${e.observedPercent ?? '–'}% seen)` : e.kind),
    h('td', { class: 'num' }, e.traffic ? rate(e.traffic.rps) : '–'), h('td', { class: 'num' }, percent(e.traffic?.successRate)),
    h('td', { class: 'num' }, latency(e.traffic?.p99Ms ?? null)), h('td', { class: 'num' }, String(e.traffic?.denied ?? 0)), h('td', {}, accessText(e)))));
  nodeBody.replaceChildren(...view.nodes.map((n) => {
    const out = view.edges.filter((e) => e.source === n.id && e.traffic).map((e) => e.traffic);
    return h('tr', {}, h('td', {}, nodeName(n, n.id)), h('td', {}, n.workloadKind ?? n.kind), h('td', {}, n.meshed ? 'yes' : 'no'),
      h('td', {}, n.idle ? 'none' : out.length ? out.map((t) => trafficText(t)).join('; ') : 'receives'));
  }));
}
