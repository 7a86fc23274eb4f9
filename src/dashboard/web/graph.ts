/**
 * The service graph with Cytoscape.js, laid out left to right by dagre. The layout runs only
 * when the graph's shape changes (a node or an edge appears or goes); new numbers only change
 * labels and colours, so nothing jumps while traffic flows.
 */
import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';
import type { DashboardView, GraphEdge } from '../view-types.ts';
import { edgeLabel, nodeLabel } from './format.ts';

cytoscape.use(dagre);

const STYLE: cytoscape.StylesheetJson = [
  { selector: 'node', style: { label: 'data(label)', 'text-wrap': 'wrap', 'text-valign': 'center', 'font-size': 12, color: '#1b1f24', 'background-color': '#e8f1ea', 'border-width': 2, 'border-color': '#1f6f43', shape: 'round-rectangle', width: 'label', height: 'label', padding: '10px' } },
  { selector: 'node.service', style: { shape: 'diamond', 'background-color': '#e6eef9', 'border-color': '#1d4f91', padding: '18px' } },
  { selector: 'node.external', style: { shape: 'ellipse', 'border-style': 'dashed', 'border-color': '#4d5560', 'background-color': '#f4f6f8' } },
  { selector: 'node.unmeshed', style: { 'border-style': 'dashed', 'border-color': '#4d5560', 'background-color': '#f4f6f8' } },
  { selector: 'node.idle', style: { opacity: 0.45 } },
  { selector: 'node.namespace', style: { shape: 'round-rectangle', 'background-color': '#fafbfc', 'border-color': '#c9d1d9', 'border-width': 1, label: 'data(label)', 'text-valign': 'top', 'text-halign': 'center', 'font-size': 13, 'font-weight': 'bold', padding: '16px' } },
  { selector: 'node:selected', style: { 'border-width': 4, 'border-color': '#8a4b00' } },
  { selector: 'edge', style: { label: 'data(label)', 'font-size': 10, color: '#1b1f24', 'text-background-color': '#ffffff', 'text-background-opacity': 0.85, 'text-background-padding': '2px', width: 2, 'line-color': '#1f6f43', 'target-arrow-color': '#1f6f43', 'target-arrow-shape': 'triangle', 'curve-style': 'bezier' } },
  { selector: 'edge.split, edge.backend', style: { 'line-color': '#1d4f91', 'target-arrow-color': '#1d4f91' } },
  { selector: 'edge.idle', style: { opacity: 0.45 } },
  { selector: 'edge.denied', style: { 'line-color': '#b3261e', 'target-arrow-color': '#b3261e', width: 3 } },
  { selector: 'edge.unused', style: { 'line-style': 'dashed', 'line-color': '#2e7d32', 'target-arrow-color': '#2e7d32', display: 'none' } },
  { selector: 'edge.not-allowed', style: { 'line-style': 'dashed' } },
  { selector: '.show-access edge.unused', style: { display: 'element' } },
];

function edgeClasses(e: GraphEdge): string {
  const idle = e.kind !== 'allowed-unused' && (e.traffic?.requests ?? 0) === 0;
  return [e.kind === 'allowed-unused' ? 'unused' : e.kind, e.denied ? 'denied' : '', idle ? 'idle' : '', e.access === 'not-allowed' ? 'not-allowed' : ''].filter(Boolean).join(' ');
}

export class MeshGraph {
  readonly cy: cytoscape.Core;
  private shape = '';
  private showAccess = false;

  constructor(container: HTMLElement, onSelect: (id: string) => void) {
    this.cy = cytoscape({ container, style: STYLE, wheelSensitivity: 0.3, minZoom: 0.2, maxZoom: 1.6 });
    this.cy.on('tap', 'node', (event) => {
      const id = event.target.id() as string;
      if (!id.startsWith('namespace:')) onSelect(id);
    });
  }

  setAccessOverlay(on: boolean): void {
    this.showAccess = on;
    this.cy.edges('.unused').style('display', on ? 'element' : 'none');
  }

  select(id: string): void {
    this.cy.nodes().unselect();
    this.cy.getElementById(id).select();
  }

  update(view: DashboardView): void {
    const wanted = new Map<string, cytoscape.ElementDefinition>();
    for (const ns of new Set(view.nodes.map((n) => n.namespace).filter((n): n is string => !!n))) {
      wanted.set(`namespace:${ns}`, { group: 'nodes', data: { id: `namespace:${ns}`, label: `namespace ${ns}` }, classes: 'namespace' });
    }
    for (const n of view.nodes) {
      const classes = [n.kind, n.meshed ? '' : 'unmeshed', n.idle ? 'idle' : ''].filter(Boolean).join(' ');
      wanted.set(n.id, { group: 'nodes', data: { id: n.id, label: nodeLabel(n), ...(n.namespace ? { parent: `namespace:${n.namespace}` } : {}) }, classes });
    }
    for (const e of view.edges) wanted.set(`edge:${e.id}`, { group: 'edges', data: { id: `edge:${e.id}`, source: e.source, target: e.target, label: edgeLabel(e) }, classes: edgeClasses(e) });

    // The shape leaves out the access overlay's edges: switching it on never moves a node.
    const shape = [...wanted.keys()].filter((k) => !k.startsWith('edge:allowed:')).sort().join('\n');
    this.cy.batch(() => {
      this.cy.elements().forEach((el) => {
        if (!wanted.has(el.id())) el.remove();
      });
      for (const [id, def] of wanted) {
        const el = this.cy.getElementById(id);
        if (el.empty()) {
          this.cy.add(def);
          continue;
        }
        el.data('label', def.data.label);
        el.classes(def.classes as string);
      }
      this.cy.edges('.unused').style('display', this.showAccess ? 'element' : 'none');
    });
    if (shape !== this.shape) {
      const first = this.shape === '';
      this.shape = shape;
      // dagre lays out the workloads inside their namespace boxes (compound nodes); the access overlay's edges take no part.
      this.cy.elements().not('.unused').layout({ name: 'dagre', rankDir: 'LR', nodeSep: 50, rankSep: 180, edgeSep: 20, animate: !first, animationDuration: 300, fit: true, padding: 30 } as cytoscape.LayoutOptions).run();
    }
  }
}
