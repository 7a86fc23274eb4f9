/**
 * The kinds Skiff serves: the SMI kinds, and Skiff's own TrafficPolicy (policy.skiff.dev),
 * which goes through the same machinery (schema, validation, CRD, webhook, status). Group,
 * versions, plural and short names, and the version each kind is stored in. Everything that
 * needs to enumerate kinds or versions reads this table.
 */

export const SMI_GROUPS = {
  split: 'split.smi-spec.io',
  access: 'access.smi-spec.io',
  specs: 'specs.smi-spec.io',
  metrics: 'metrics.smi-spec.io',
  /** Skiff's own policy API (not SMI), read like the SMI kinds. */
  policy: 'policy.skiff.dev',
} as const;

export type SmiKind = 'TrafficSplit' | 'TrafficTarget' | 'HTTPRouteGroup' | 'TCPRoute' | 'UDPRoute' | 'TrafficPolicy';

export interface KindInfo {
  readonly kind: SmiKind;
  readonly group: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  /** Served versions, oldest first. */
  readonly versions: readonly string[];
  /** The version the API server stores; the newest, see ARCHITECTURE.md. */
  readonly storage: string;
}

export const SMI_KINDS: Readonly<Record<SmiKind, KindInfo>> = {
  TrafficSplit: {
    kind: 'TrafficSplit', group: SMI_GROUPS.split, plural: 'trafficsplits', singular: 'trafficsplit',
    shortNames: ['ts'], versions: ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4'], storage: 'v1alpha4',
  },
  TrafficTarget: {
    kind: 'TrafficTarget', group: SMI_GROUPS.access, plural: 'traffictargets', singular: 'traffictarget',
    shortNames: ['tt'], versions: ['v1alpha1', 'v1alpha2', 'v1alpha3'], storage: 'v1alpha3',
  },
  HTTPRouteGroup: {
    kind: 'HTTPRouteGroup', group: SMI_GROUPS.specs, plural: 'httproutegroups', singular: 'httproutegroup',
    shortNames: ['htr'], versions: ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4'], storage: 'v1alpha4',
  },
  TCPRoute: {
    kind: 'TCPRoute', group: SMI_GROUPS.specs, plural: 'tcproutes', singular: 'tcproute',
    shortNames: ['tr'], versions: ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4'], storage: 'v1alpha4',
  },
  UDPRoute: {
    kind: 'UDPRoute', group: SMI_GROUPS.specs, plural: 'udproutes', singular: 'udproute',
    shortNames: ['ur'], versions: ['v1alpha4'], storage: 'v1alpha4',
  },
  TrafficPolicy: {
    kind: 'TrafficPolicy', group: SMI_GROUPS.policy, plural: 'trafficpolicies', singular: 'trafficpolicy',
    shortNames: ['tp'], versions: ['v1alpha1'], storage: 'v1alpha1',
  },
};

export const ALL_KINDS: readonly SmiKind[] = Object.keys(SMI_KINDS) as SmiKind[];

const SMI_GROUP_SET: ReadonlySet<string> = new Set(Object.values(SMI_GROUPS));

/** Splits "group/version" (or a core "version") into its parts. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function isSmiGroup(group: string): boolean {
  return SMI_GROUP_SET.has(group);
}

/** The kind with this group and kind name, if Skiff knows it. */
export function findKind(group: string, kind: string): KindInfo | undefined {
  const info = (SMI_KINDS as Record<string, KindInfo | undefined>)[kind];
  return info && info.group === group ? info : undefined;
}

export function apiVersionOf(kind: SmiKind, version: string): string {
  return `${SMI_KINDS[kind].group}/${version}`;
}
