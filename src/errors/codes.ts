/**
 * The one registry of Skiff's stable error and warning codes. A code never changes meaning
 * once released; every code is documented in docs/errors.md (a test enforces it). Errors are
 * data: they travel as `Issue` values, reach the CLI, status conditions, logs and metrics.
 */

export type Severity = 'error' | 'warning';

export interface CodeInfo {
  readonly severity: Severity;
  readonly summary: string;
}

function def<T extends Record<string, CodeInfo>>(codes: T): T {
  return codes;
}

export const CODES = def({
  // Input (CLI, YAML folder).
  SKIFF_E_YAML_SYNTAX: { severity: 'error', summary: 'A YAML document could not be parsed.' },
  SKIFF_E_FILE_READ: { severity: 'error', summary: 'A file or folder named on the command line could not be read.' },
  SKIFF_E_FILE_TOO_LARGE: { severity: 'error', summary: 'A YAML file, or a folder\'s YAML files together, exceed the size Skiff reads.' },
  SKIFF_E_YAML_TOO_DEEP: { severity: 'error', summary: 'A YAML document nests deeper, or uses more aliases, than Skiff reads.' },
  // Object identity.
  SKIFF_E_UNSERVED_VERSION: { severity: 'error', summary: 'An SMI group or kind with a version Skiff does not serve.' },
  SKIFF_E_UNKNOWN_KIND: { severity: 'error', summary: 'A kind that does not exist in its SMI group.' },
  SKIFF_E_METADATA_NAME: { severity: 'error', summary: 'metadata.name or metadata.namespace is missing or not a valid Kubernetes name.' },
  // Schema.
  SKIFF_E_SCHEMA: { severity: 'error', summary: 'The object does not match the schema of its version (a missing field, a wrong type).' },
  SKIFF_W_UNKNOWN_FIELD: { severity: 'warning', summary: 'A field that this version does not have; the API server would drop it.' },
  // TrafficSplit.
  SKIFF_E_SPLIT_WEIGHT: { severity: 'error', summary: 'A backend weight that is not a non-negative integer within range.' },
  SKIFF_E_SPLIT_WEIGHT_QUANTITY: { severity: 'error', summary: 'A v1alpha1 weight that is not a non-negative quantity with at most milli precision.' },
  SKIFF_E_SPLIT_DUPLICATE_BACKEND: { severity: 'error', summary: 'The same Service is listed twice as a backend.' },
  SKIFF_W_SPLIT_ALL_ZERO: { severity: 'warning', summary: 'Every backend has weight 0: split requests are refused with 503.' },
  SKIFF_W_SPLIT_SELF_BACKEND: { severity: 'warning', summary: 'A backend is the root Service itself.' },
  SKIFF_E_SPLIT_MATCH_KIND: { severity: 'error', summary: 'A TrafficSplit match that does not refer to an HTTPRouteGroup.' },
  // TrafficTarget.
  SKIFF_E_TARGET_NO_RULES: { severity: 'error', summary: 'A v1alpha3 TrafficTarget without rules.' },
  SKIFF_E_TARGET_NO_SOURCES: { severity: 'error', summary: 'A v1alpha3 TrafficTarget without sources.' },
  SKIFF_E_TARGET_RULE_KIND: { severity: 'error', summary: 'A rule whose kind is not HTTPRouteGroup, TCPRoute or UDPRoute.' },
  SKIFF_E_TARGET_SUBJECT_KIND: { severity: 'error', summary: 'A destination or source whose kind is not ServiceAccount.' },
  SKIFF_E_TARGET_DESTINATION_NAMESPACE: { severity: 'error', summary: 'A destination in another namespace than its TrafficTarget.' },
  SKIFF_E_TARGET_PORT: { severity: 'error', summary: 'A destination port that is not a number from 1 to 65535.' },
  SKIFF_W_TARGET_RULE_MATCHES_IGNORED: { severity: 'warning', summary: 'Match names on a TCPRoute or UDPRoute rule, which have no named matches.' },
  // Route specs.
  SKIFF_E_ROUTE_DUPLICATE_MATCH: { severity: 'error', summary: 'Two matches with the same name in one HTTPRouteGroup.' },
  SKIFF_E_ROUTE_PATH_REGEX: { severity: 'error', summary: 'A pathRegex that is not a valid, bounded RE2 expression.' },
  SKIFF_E_ROUTE_HEADER_REGEX: { severity: 'error', summary: 'A header value pattern that is not a valid, bounded RE2 expression.' },
  SKIFF_E_ROUTE_HEADERS_SHAPE: { severity: 'error', summary: 'headers is neither a map of strings nor a list of single-key maps of strings.' },
  SKIFF_E_ROUTE_HEADER_NAME: { severity: 'error', summary: 'A header name that is not a valid HTTP field name.' },
  SKIFF_E_ROUTE_METHOD: { severity: 'error', summary: 'An HTTP method outside *, GET, HEAD, PUT, POST, DELETE, CONNECT, OPTIONS, TRACE, PATCH.' },
  SKIFF_W_ROUTE_EMPTY_MATCH: { severity: 'warning', summary: 'A match with no path, methods or headers: it matches every request.' },
  SKIFF_E_ROUTE_PORT: { severity: 'error', summary: 'A TCPRoute or UDPRoute port outside 1 to 65535, or listed twice.' },
  // TrafficPolicy.
  SKIFF_E_POLICY_TARGET: { severity: 'error', summary: 'A TrafficPolicy targetRef with fields its kind does not have, or listed twice.' },
  SKIFF_E_POLICY_DURATION: { severity: 'error', summary: 'A TrafficPolicy duration that is not a Gateway API duration ("2s", "500ms", "1m30s").' },
  SKIFF_W_POLICY_EMPTY: { severity: 'warning', summary: 'A TrafficPolicy that sets no policy section.' },
  SKIFF_W_POLICY_SCOPE: { severity: 'warning', summary: 'A TrafficPolicy field that has no effect where it is attached.' },
  // Conversion.
  SKIFF_E_CONVERSION: { severity: 'error', summary: 'An object could not be converted between SMI versions.' },
  // Mesh-wide settings.
  SKIFF_E_MESH_CONFIG: { severity: 'error', summary: 'A MeshConfig field that is unknown or not valid; its default stays in force.' },
  // Mesh model: problems between objects.
  SKIFF_W_DUPLICATE_OBJECT: { severity: 'warning', summary: 'The same object (kind, namespace, name) appears twice in the input; the first one is used.' },
  SKIFF_W_OUTBOUND_SCOPE: { severity: 'warning', summary: 'A skiff.dev/outbound-scope annotation that cannot be read; it is ignored and the proxy reaches every Service.' },
  SKIFF_W_NAMESPACE_ACCESS_MODE: { severity: 'warning', summary: 'A namespace sets skiff.dev/access to something other than permissive or strict.' },
  SKIFF_W_SERVICE_TARGET_PORT: { severity: 'warning', summary: 'A Service targetPort names a port that a selected pod does not declare; that pod is not an endpoint for it.' },
  SKIFF_E_SPLIT_ROOT_MISSING: { severity: 'error', summary: 'The root Service of a TrafficSplit does not exist; the split does nothing.' },
  SKIFF_E_SPLIT_CONFLICT: { severity: 'error', summary: 'Another TrafficSplit already has the same root Service; this one does nothing.' },
  SKIFF_E_SPLIT_ROUTE_GROUP_MISSING: { severity: 'error', summary: 'A TrafficSplit match names an HTTPRouteGroup that does not exist or is invalid; the split does nothing.' },
  SKIFF_W_SPLIT_BACKEND_MISSING: { severity: 'warning', summary: 'A TrafficSplit backend Service does not exist; it gets no traffic.' },
  SKIFF_W_SPLIT_BACKEND_PORT: { severity: 'warning', summary: 'A TrafficSplit backend lacks a port of the root Service; it gets no traffic on that port.' },
  SKIFF_W_SPLIT_NESTED: { severity: 'warning', summary: 'A TrafficSplit backend is itself the root of a split; splits do not nest.' },
  SKIFF_E_TARGET_ROUTE_MISSING: { severity: 'error', summary: 'A TrafficTarget rule names a route object that does not exist or is invalid; that rule allows nothing.' },
  SKIFF_E_TARGET_MATCH_MISSING: { severity: 'error', summary: 'A TrafficTarget rule names a match its HTTPRouteGroup does not have; that name allows nothing.' },
  SKIFF_E_POLICY_TARGET_MISSING: { severity: 'error', summary: 'A TrafficPolicy targetRef names a Service, port, HTTPRouteGroup or match that does not exist; that target gets nothing.' },
  SKIFF_W_POLICY_CONFLICT: { severity: 'warning', summary: 'Two TrafficPolicies set the same field on the same target; the older one wins.' },
  SKIFF_W_TARGET_RULE_ALLOWS_NOTHING: { severity: 'warning', summary: 'A TrafficTarget rule refers to an HTTPRouteGroup without matches; it allows nothing.' },
  // Sidecar injection.
  SKIFF_E_INJECT_ANNOTATION: { severity: 'error', summary: 'A skiff.dev/ injection annotation (ports, CIDRs, resources) cannot be read; the pod is not injected.' },
  SKIFF_E_INJECT_PROXY_UID: { severity: 'error', summary: 'An application container runs as the proxy\'s user id, so its traffic would bypass the capture; the pod is not injected.' },
  SKIFF_W_INJECT_HOST_NETWORK: { severity: 'warning', summary: 'A pod on the host network is never injected: capture rules would change the node\'s network.' },
  // Installing.
  SKIFF_E_INSTALL_OPTION: { severity: 'error', summary: 'A `skiff install` flag has a value it cannot use; nothing is printed.' },
});

export type Code = keyof typeof CODES;

export function severityOf(code: Code): Severity {
  return CODES[code].severity;
}
