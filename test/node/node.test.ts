/**
 * A real node: kubelet, containerd and runc run Skiff's image as real pods with their own
 * network namespaces on a CNI bridge. A pod runs the CLI to completion; a sidecar pod gets its
 * config and certificate from a ConfigMap and a Secret and is Ready by kubelet's own probe on
 * the health port.
 */
import { equal, ok } from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { buildImage, buildPauseImage, PAUSE_IMAGE } from '../../scripts/build-image.ts';
import { PORTS } from '../../src/lib/ports.ts';
import { buildTopology } from '../../src/model/index.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../../src/sources/files/snapshot.ts';
import { translateAll } from '../../src/translate/index.ts';
import { startCluster, type TestCluster } from '../cluster/harness.ts';
import { startNode, type TestNode } from '../cluster/node.ts';
import { meshYaml } from '../support/mesh.ts';
import { createTestPki } from '../support/pki.ts';
import { waitFor } from '../support/wait.ts';

const NODE_IP = process.env.SKIFF_NODE_IP ?? '10.250.0.2';
type PodStatus = { status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { state?: Record<string, { exitCode?: number; reason?: string }> }[] } };

describe('a real node', () => {
  let cluster: TestCluster;
  let node: TestNode;
  let image: string;
  const work = mkdtempSync(join(tmpdir(), 'skiff-node-images-'));
  const pod = async (name: string) => (await cluster.api('GET', `/api/v1/namespaces/default/pods/${name}`)).body as PodStatus;
  const create = async (path: string, body: unknown) => {
    const res = await cluster.api('POST', path, body);
    equal(res.status, 201, JSON.stringify(res.body));
  };

  before(async () => {
    const built = await buildImage(join(work, 'skiff.oci.tar'));
    image = built.name;
    cluster = await startCluster();
    node = await startNode(cluster, { nodeIp: NODE_IP, podSubnet: '10.244.1.0/24', images: [buildPauseImage(join(work, 'pause.oci.tar')), built.file], sandboxImage: PAUSE_IMAGE });
  });
  after(async () => {
    try {
      await node?.stop();
    } finally {
      await cluster?.stop();
      rmSync(work, { recursive: true, force: true });
    }
  });

  test('a pod from the Skiff image runs the CLI to completion', async () => {
    await create('/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'validate' }, spec: { nodeName: node.name, restartPolicy: 'Never', containers: [{ name: 'skiff', image, imagePullPolicy: 'Never', args: ['validate', '/app'] }] } });
    const done = await waitFor('the pod to finish', async () => {
      const p = await pod('validate');
      return (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') && p;
    }, 90_000).catch((err: Error) => { throw new Error(`${err.message}\n${node.logs()}`); });
    equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
  });

  test('a sidecar pod, configured from a ConfigMap and a Secret, is Ready by kubelet\'s probe of its health port', async () => {
    const { documents } = parseYamlText('pod.yaml', meshYaml('default', 'strict', [{ name: 'web', ports: [8080] }]));
    const config = translateAll(buildTopology(snapshotFromDocuments(documents.map((d) => d.value)))).get('default/web-0');
    ok(config);
    const pki = createTestPki();
    const certs = join(work, 'certs');
    pki.issue(certs, config.proxy.identity);
    await create('/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-proxy' }, data: { 'config.json': JSON.stringify(config) } });
    await create('/api/v1/namespaces/default/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'web-certs' }, data: Object.fromEntries(['cert.pem', 'key.pem', 'ca.pem'].map((f) => [f, readFileSync(join(certs, f)).toString('base64')])) });
    await create('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', labels: { app: 'web' } },
      spec: {
        nodeName: node.name,
        containers: [{
          name: 'skiff-proxy', image, imagePullPolicy: 'Never',
          args: ['proxy', '--config', '/config/config.json', '--certs', '/certs'],
          ports: [{ name: 'health', containerPort: PORTS.health }, { name: 'mesh', containerPort: PORTS.inbound }],
          readinessProbe: { httpGet: { path: '/ready', port: PORTS.health }, periodSeconds: 1 },
          securityContext: { readOnlyRootFilesystem: true, runAsNonRoot: true, allowPrivilegeEscalation: false },
          volumeMounts: [{ name: 'config', mountPath: '/config', readOnly: true }, { name: 'certs', mountPath: '/certs', readOnly: true }],
        }],
        volumes: [{ name: 'config', configMap: { name: 'web-proxy' } }, { name: 'certs', secret: { secretName: 'web-certs', defaultMode: 0o444 } }],
      },
    });
    const ready = await waitFor('the sidecar pod to be Ready', async () => {
      const p = await pod('web-0');
      return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && p;
    }, 90_000).catch(async (err: Error) => { throw new Error(`${err.message}\n${JSON.stringify((await pod('web-0')).status)}\n${node.logs()}`); });
    ok(ready.status?.podIP?.startsWith('10.244.1.'), `pod IP ${ready.status?.podIP} from the CNI bridge`);
    const res = await fetch(`http://${ready.status?.podIP}:${PORTS.health}/ready`);
    equal(res.status, 200, 'the test reaches the pod over the bridge too');
  });
});
