/**
 * Kubernetes-specific trust: the CA root kept in a Secret (so every controller replica issues
 * from the same root), and sidecar bootstrap by projected ServiceAccount token, checked with
 * TokenReview: the token must be valid for the `skiff` audience and belong to exactly the
 * ServiceAccount (and, when the token is pod-bound, the pod) the certificate is for.
 */
import { AuthenticationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { parseSpiffeId } from '../lib/spiffe.ts';
import { TOKEN_AUDIENCE } from '../inject/pod.ts';
import type { RootStore } from './ca/authority.ts';

export { TOKEN_AUDIENCE };

export function secretRootStore(kc: KubeConfig, namespace: string, name = 'skiff-ca'): RootStore {
  const core = kc.makeApiClient(CoreV1Api);
  const decode = (data: Record<string, string> | undefined) => data?.['ca.pem'] && data['ca-key.pem']
    ? { certificatePem: Buffer.from(data['ca.pem'], 'base64').toString(), keyPem: Buffer.from(data['ca-key.pem'], 'base64').toString() }
    : undefined;
  const load = async () => {
    try {
      return decode((await core.readNamespacedSecret({ name, namespace })).data);
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  };
  return {
    load,
    save: async (root) => {
      try {
        await core.createNamespacedSecret({ namespace, body: { metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'skiff' } }, type: 'Opaque', data: { 'ca.pem': Buffer.from(root.certificatePem).toString('base64'), 'ca-key.pem': Buffer.from(root.keyPem).toString('base64') } } });
        return root;
      } catch (err) {
        // Another replica created it first: use that one.
        if ((err as { code?: number }).code === 409) return (await load()) ?? root;
        throw err;
      }
    },
  };
}

/** `verifyToken` for the DistributionServer, backed by TokenReview. */
export function tokenReviewVerifier(kc: KubeConfig): (proxy: string, token: string, identity: string) => Promise<boolean> {
  const auth = kc.makeApiClient(AuthenticationV1Api);
  return async (proxy, token, identity) => {
    const [namespace, pod] = proxy.split('/');
    const sa = parseSpiffeId(identity);
    if (!sa || sa.namespace !== namespace) return false;
    const review = await auth.createTokenReview({ body: { spec: { token, audiences: [TOKEN_AUDIENCE] } } });
    const user = review.status?.user;
    if (!review.status?.authenticated || user?.username !== `system:serviceaccount:${sa.namespace}:${sa.serviceAccount}`) return false;
    const boundPod = user.extra?.['authentication.kubernetes.io/pod-name']?.[0];
    return boundPod === undefined || boundPod === pod;
  };
}
