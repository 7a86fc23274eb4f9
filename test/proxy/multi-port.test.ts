/**
 * A workload serving several HTTP ports behind one Service: each Service port reaches its own
 * pod port through both sidecars with mTLS, in a strict namespace with per-port access. The
 * server sidecar learns the target port from SNI (the Host names the Service port), so this
 * fails if the client ever sends another name as SNI.
 */
import { equal } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { meshYaml, TestMesh } from '../support/mesh.ts';

const svc = `apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  selector:\n    app: api\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n  - name: admin\n    port: 81\n    targetPort: 8081\n`;
// The client may use port 8080 only.
const access = `apiVersion: specs.smi-spec.io/v1alpha4\nkind: TCPRoute\nmetadata:\n  name: main-port\n  namespace: shop\nspec:\n  matches:\n    ports: [8080]\n---\napiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\nmetadata:\n  name: client-api\n  namespace: shop\nspec:\n  destination:\n    kind: ServiceAccount\n    name: api\n    namespace: shop\n  rules:\n  - kind: TCPRoute\n    name: main-port\n  sources:\n  - kind: ServiceAccount\n    name: client\n    namespace: shop\n`;

describe('a workload with two HTTP ports', () => {
  let mesh: TestMesh;
  before(async () => {
    mesh = await TestMesh.start(meshYaml('shop', 'strict', [{ name: 'api', ports: [8080, 8081] }, { name: 'client' }], `${svc}---\n${access}`));
  });
  after(async () => mesh?.close());

  test('each Service port reaches its own pod port, and access is judged per port', async () => {
    const main = await mesh.request('client', 'http://api.shop/x');
    equal(main.status, 200, main.text);
    equal(main.json().port, 8080);
    const admin = await mesh.request('client', 'http://api.shop:81/x');
    equal(admin.status, 403, admin.text);
    equal(admin.headers['x-skiff-reason'], 'access-denied');
  });
});
