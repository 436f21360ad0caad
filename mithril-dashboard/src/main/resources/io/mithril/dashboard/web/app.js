// The dashboard page: renders the state that /api/stream pushes (Server-Sent Events) each time
// it changes. Text is always set with textContent, never as HTML.
'use strict';

let state = null;
const cy = cytoscape({
  container: document.getElementById('graph'),
  style: [
    { selector: 'node', style: { 'label': 'data(label)', 'font-size': 11, 'text-valign': 'bottom', 'text-margin-y': 4,
      'background-color': '#42a5f5', 'width': 26, 'height': 26 } },
    { selector: 'node[kind = "gateway"]', style: { 'shape': 'round-rectangle', 'background-color': '#7e57c2' } },
    { selector: 'node[kind = "caller"]', style: { 'shape': 'diamond', 'background-color': '#90a4ae' } },
    { selector: 'edge', style: { 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', 'width': 2,
      'line-color': '#66bb6a', 'target-arrow-color': '#66bb6a', 'label': 'data(label)', 'font-size': 9,
      'text-rotation': 'autorotate', 'text-background-color': '#fff', 'text-background-opacity': 0.8,
      'text-background-padding': 1 } },
    { selector: 'edge[mtls = "off"]', style: { 'line-style': 'dashed', 'line-color': '#ef6c00', 'target-arrow-color': '#ef6c00' } },
    { selector: 'edge[errors = "yes"]', style: { 'line-color': '#e53935', 'target-arrow-color': '#e53935' } },
  ],
  userZoomingEnabled: true,
});
window.mithrilGraph = cy;
let graphShape = '';

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function row(tbody, cells) {
  const tr = el('tr');
  for (const c of cells) tr.appendChild(c instanceof Node ? c : el('td', c));
  tbody.appendChild(tr);
  return tr;
}

function fill(id, rows) {
  const tbody = document.querySelector('#' + id + ' tbody');
  tbody.replaceChildren();
  rows.forEach(r => row(tbody, r));
}

function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const s = Math.round((d - Date.now()) / 1000);
  const abs = Math.abs(s);
  const span = abs < 120 ? abs + 's' : abs < 7200 ? Math.round(abs / 60) + 'm' : abs < 172800 ? Math.round(abs / 3600) + 'h' : Math.round(abs / 86400) + 'd';
  return d.toISOString().replace('.000Z', 'Z') + (s >= 0 ? ' (in ' + span + ')' : ' (' + span + ' ago)');
}

function renderSources(s) {
  const ul = document.getElementById('sources');
  ul.replaceChildren();
  for (const src of s.sources || []) {
    const li = el('li', src.name, src.ok ? '' : 'down');
    li.title = src.address + (src.error ? ': ' + src.error : '');
    ul.appendChild(li);
  }
}

function renderDomains(s) {
  const box = document.getElementById('domains');
  box.replaceChildren();
  for (const d of s.trustDomains || []) {
    const root = el('div', null, 'root');
    const cas = d.clusters.flatMap(c => c.authorities.concat(c.jwtAuthorities || []));
    const from = Math.min(...cas.map(a => Date.parse(a.notBefore)), Date.now());
    const to = Math.max(...cas.map(a => Date.parse(a.notAfter)), Date.now() + 1);
    for (const r of d.roots) {
      root.appendChild(el('div', 'trust domain ' + d.name + ' — root ' + r.subject + ' (' + r.fingerprint + '), valid until ' + when(r.notAfter), 'rootline'));
    }
    for (const c of d.clusters) {
      const cl = el('div', null, 'cluster');
      cl.appendChild(el('div', c.name + (c.nextRotation ? ' — next rotation ' + when(c.nextRotation) : '')));
      const lines = c.authorities.map(a => [a, ' ' + a.subject + ' #' + a.serial.slice(0, 8), '; issued by ' + a.issuerFingerprint])
        .concat((c.jwtAuthorities || []).map(k => [k, ' JWT key ' + k.kid.slice(0, 12), '; kid ' + k.kid]));
      for (const [a, label, more] of lines) {
        const line = el('div', null, 'ca');
        const name = el('div');
        name.appendChild(el('span', a.slot, 'slot ' + a.slot));
        name.appendChild(el('span', label));
        name.title = 'valid ' + a.notBefore + ' – ' + a.notAfter + more;
        line.appendChild(name);
        const bar = el('div', null, 'bar');
        const span = el('span', null, a.slot);
        const left = (Date.parse(a.notBefore) - from) / (to - from) * 100;
        const width = (Date.parse(a.notAfter) - Date.parse(a.notBefore)) / (to - from) * 100;
        span.style.left = left + '%';
        span.style.width = width + '%';
        bar.appendChild(span);
        const now = el('i');
        now.style.left = ((Date.now() - from) / (to - from) * 100) + '%';
        now.title = 'now';
        bar.appendChild(now);
        line.appendChild(bar);
        cl.appendChild(line);
      }
      root.appendChild(cl);
    }
    box.appendChild(root);
  }
}

function renderGraph(s) {
  const g = s.graph || { nodes: [], edges: [] };
  const shape = JSON.stringify([g.nodes.map(n => n.id), g.edges.map(e => e.source + '>' + e.target)]);
  const elements = [];
  for (const n of g.nodes) elements.push({ group: 'nodes', data: { id: n.id, label: n.label, kind: n.kind } });
  for (const e of g.edges) {
    elements.push({ group: 'edges', data: { id: e.source + '>' + e.target, source: e.source, target: e.target,
      mtls: e.mtls ? 'on' : 'off', errors: e.errorRate > 0 ? 'yes' : 'no', principal: e.principal,
      label: (e.principal || 'no mTLS') + '  ' + e.rps + ' rps' } });
  }
  if (shape !== graphShape) {
    cy.elements().remove();
    cy.add(elements);
    const roots = cy.nodes().filter(n => n.indegree(false) === 0);
    cy.layout({ name: 'breadthfirst', directed: true, roots: roots.length ? roots : undefined, spacingFactor: 1.4, padding: 20 }).run();
    graphShape = shape;
  } else {
    for (const e of elements) cy.getElementById(e.data.id).data(e.data);
  }
  fill('edges', g.edges.map(e => [e.principal || '(no client certificate)', e.target, e.mtls ? 'on' : 'off',
    e.rps, (e.errorRate * 100).toFixed(1) + '%', e.p99Ms === undefined ? '' : e.p99Ms + ' ms', e.requests]));
}

function renderEvents(s) {
  const ol = document.getElementById('events');
  ol.replaceChildren();
  for (const e of (s.events || []).slice().reverse()) {
    const li = el('li', null, e.kind);
    li.appendChild(el('span', e.kind, 'kind'));
    li.appendChild(el('span', e.at.replace(/\.\d+Z$/, 'Z') + ' ', 'muted'));
    li.appendChild(el('span', e.text));
    ol.appendChild(li);
  }
}

function renderTables(s) {
  fill('agents', (s.agents || []).map(a => [a.cluster, a.spiffeId, a.attestationType + (a.banned ? ' (banned)' : ''),
    a.lastSync ? when(a.lastSync) : 'not since the server started', a.serial, when(a.expiresAt)]));
  const cp = {};
  for (const p of (s.controlPlane && s.controlPlane.proxies) || []) cp[p.spiffeId] = (cp[p.spiffeId] ? cp[p.spiffeId] + ', ' : '') + p.state;
  fill('proxies', (s.proxies || []).map(p => [p.name, p.up ? p.spiffeId : 'unreachable: ' + p.error, p.serial || '', when(p.notAfter), cp[p.spiffeId] || '']));
  renderEntries();
}

function renderEntries() {
  if (!state) return;
  const q = document.getElementById('search').value.trim().toLowerCase();
  const rows = (state.entries || []).filter(e => !q || [e.cluster, e.spiffeId, e.parentId, e.selectors.join(' ')].join(' ').toLowerCase().includes(q));
  fill('entries', rows.map(e => [e.cluster, e.spiffeId, e.parentId, e.selectors.join(', '), e.x509SvidTtl ? e.x509SvidTtl + 's' : 'default']));
}

function render(s) {
  state = s;
  document.getElementById('updated').textContent = 'updated ' + new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  renderSources(s);
  renderDomains(s);
  renderGraph(s);
  renderEvents(s);
  renderTables(s);
}

document.getElementById('search').addEventListener('input', renderEntries);

function connect() {
  const conn = document.getElementById('conn');
  const source = new EventSource('/api/stream');
  source.onopen = () => { conn.textContent = 'live'; conn.className = 'badge on'; };
  source.onmessage = m => { const s = JSON.parse(m.data); if (s.sources) render(s); };
  source.onerror = () => { conn.textContent = 'reconnecting'; conn.className = 'badge off'; };
}
connect();
