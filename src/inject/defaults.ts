/** Injection settings as a default install has them: the one place the CLI, the controller and `skiff install` read them from. */
import { PORTS } from '../lib/ports.ts';
import { DEFAULT_IMAGE, VERSION } from '../lib/version.ts';
import { DEFAULT_PROXY_UID, DEFAULT_RESOURCES, TRUST_BUNDLE_CONFIGMAP, type InjectSettings } from './settings.ts';

export const CONTROL_NAMESPACE = 'skiff-system';
export const CONTROLLER_SERVICE = 'skiff-controller';

export function defaultInjectSettings(overrides: Partial<InjectSettings> = {}): InjectSettings {
  const namespace = overrides.controlNamespace ?? CONTROL_NAMESPACE;
  return {
    image: DEFAULT_IMAGE, imagePullPolicy: 'IfNotPresent',
    controlUrl: `https://${CONTROLLER_SERVICE}.${namespace}.svc:${PORTS.control}`,
    controlNamespace: namespace, proxyUid: DEFAULT_PROXY_UID, resources: DEFAULT_RESOURCES,
    trustBundleConfigMap: TRUST_BUNDLE_CONFIGMAP, version: VERSION,
    ...overrides,
  };
}
