/**
 * The dashboard page: one EventSource on /dashboard/api/events, a view a second, drawn as a
 * graph (graph.ts) or as tables, with the panels beside it (panels.ts).
 */
import type { DashboardView } from '../view-types.ts';
import { MeshGraph } from './graph.ts';
import { renderProblems, renderSplits, renderTables, renderWorkload, renderWorkloadList } from './panels.ts';

const byId = (id: string) => document.getElementById(id) as HTMLElement;
let view: DashboardView | undefined;
let selected: string | undefined;
let lastUpdate = 0;

const select = (id: string) => {
  selected = id;
  graph.select(id);
  if (view) draw(view);
};
const graph = new MeshGraph(byId('graph'), select);

function summary(v: DashboardView): string {
  const live = v.edges.filter((e) => (e.traffic?.requests ?? 0) > 0);
  const denied = live.filter((e) => e.denied).length;
  return `Service graph: ${v.nodes.length} nodes, ${live.length} edges with traffic over the last ${v.windowSeconds} s${denied ? `, ${denied} with denials` : ''}. The table view has the same data.`;
}

function draw(v: DashboardView): void {
  graph.update(v);
  byId('graph').setAttribute('aria-label', summary(v));
  renderSplits(byId('splits'), v);
  renderWorkloadList(byId('workload-list'), v, selected, select);
  renderWorkload(byId('workload-detail'), v, selected);
  renderProblems(byId('problems'), v);
  renderTables(document.querySelector('#edge-table tbody') as HTMLElement, document.querySelector('#node-table tbody') as HTMLElement, v);
}

function toggle(button: HTMLElement, apply: (on: boolean) => void): void {
  button.addEventListener('click', () => {
    const on = button.getAttribute('aria-pressed') !== 'true';
    button.setAttribute('aria-pressed', String(on));
    apply(on);
  });
}

toggle(byId('show-access'), (on) => graph.setAccessOverlay(on));
toggle(byId('show-table'), (on) => {
  byId('table-area').hidden = !on;
  byId('graph-area').hidden = on;
  if (!on) graph.cy.resize();
});

const events = new EventSource('/dashboard/api/events');
events.onmessage = (message) => {
  view = JSON.parse(message.data as string) as DashboardView;
  lastUpdate = Date.now();
  draw(view);
  const live = byId('live');
  live.classList.remove('stale');
  live.textContent = `live · updated ${new Date(view.generatedAt).toLocaleTimeString()} · traffic over the last ${view.windowSeconds} s`;
};
events.addEventListener('problem', (message) => {
  byId('live').textContent = `the control plane did not answer: ${(JSON.parse((message as MessageEvent).data as string) as { message: string }).message}`;
});
setInterval(() => {
  if (lastUpdate && Date.now() - lastUpdate > 3000) {
    const live = byId('live');
    live.classList.add('stale');
    live.textContent = `not updating since ${new Date(lastUpdate).toLocaleTimeString()}: is the control plane running?`;
  }
}, 1000);

// For tests and the curious: the graph as drawn.
(window as unknown as { skiffDashboard: unknown }).skiffDashboard = { cy: graph.cy, view: () => view };
