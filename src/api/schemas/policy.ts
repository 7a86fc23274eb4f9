/** TrafficPolicy (policy.skiff.dev) schema; one version. Semantic rules are in validate/policy.ts. */
import { array, boolean, integer, object, root, string, type StructuralSchema } from './builders.ts';

/** Gateway API duration: up to four parts of 1–5 digits with h, m, s or ms ("1m30s", "500ms"). */
export const DURATION_PATTERN = '^([0-9]{1,5}(h|m|s|ms)){1,4}$';
const duration = (d: string) => string(d, { pattern: DURATION_PATTERN });
const percent = (d: string) => integer(d, { minimum: 0, maximum: 100 });
const positive = (d: string, maximum = 1_000_000) => integer(d, { minimum: 1, maximum });

const targetRef = object('What the policy attaches to, in the policy\'s namespace.', {
  group: string('"" for Service (core), specs.smi-spec.io for HTTPRouteGroup; may be omitted.'),
  kind: string('Service or HTTPRouteGroup.', { enum: ['Service', 'HTTPRouteGroup'] }),
  name: string('Name of the Service or HTTPRouteGroup.', { minLength: 1, maxLength: 253 }),
  port: integer('Service only: one port of the Service; absent = every port.', { minimum: 1, maximum: 65535 }),
  match: string('HTTPRouteGroup only: one match (route) of the group; absent = every match.', { minLength: 1, maxLength: 253 }),
}, ['kind', 'name']);

const v1alpha1: StructuralSchema = root('TrafficPolicy sets timeouts, retries, circuit breaking, outlier detection, rate limits and fault injection for the Services, ports and routes it targets. The most specific attachment wins per field (route, then Service port, then Service).', {
  spec: object('The policy.', {
    targetRefs: array('Services, Service ports and HTTPRouteGroup matches this policy applies to.', targetRef, { minItems: 1, maxItems: 16 }),
    timeouts: object('Time limits of a request, as the caller\'s sidecar enforces them.', {
      request: duration('Until the answer starts, retries included (504 after it). 0s = no limit.'),
      perTry: duration('Each attempt (a retry may follow). 0s = no limit.'),
      idle: duration('An upstream connection idle this long is closed. 0s = no limit.'),
      streamIdle: duration('A started answer (a stream: server-sent events, a gRPC stream, a WebSocket) with no byte for this long is cut. Default 5m; 0s = no limit.'),
    }),
    retries: object('Retries by the caller\'s sidecar.', {
      attempts: integer('Extra attempts after the first.', { minimum: 0, maximum: 10 }),
      on: array('Conditions that are retried.', string('A condition.', { enum: ['connect-failure', 'gateway-error', 'reset', '502', '503', '504'] }), { maxItems: 6 }),
      budgetPercent: percent('Retries may add at most this share of requests.'),
      minPerSecond: integer('Retries always allowed per second, whatever the budget.', { minimum: 0, maximum: 10_000 }),
    }),
    circuitBreaker: object('Limits that protect a destination.', {
      maxConnections: positive('Connections to each endpoint.'),
      maxPendingRequests: integer('Requests waiting for a connection to an endpoint (503 beyond). 0: none may wait (503 while every connection is busy).', { minimum: 0, maximum: 1_000_000 }),
      maxRequests: positive('Requests in flight to the destination (503 beyond).'),
    }),
    outlierDetection: object('Ejecting endpoints that keep failing.', {
      consecutiveErrors: positive('Consecutive gateway errors (502, 503, 504, connect failures) that eject an endpoint.', 1000),
      baseEjectionTime: duration('First ejection time; doubles with each further ejection.'),
      maxEjectedPercent: percent('At most this share of endpoints is ejected at once.'),
    }),
    rateLimit: object('A local rate limit on each pod of the targeted Service (429 beyond).', {
      requestsPerSecond: positive('Sustained requests per second.'),
      burst: positive('Requests allowed at once above the rate.'),
      perCaller: boolean('One limit per caller identity instead of one for all callers.'),
    }, ['requestsPerSecond']),
    faultInjection: object('Injected faults, to test how callers cope. Applied by the caller\'s sidecar.', {
      delay: object('Delay a share of requests.', { duration: duration('How long.'), percent: percent('Share of requests, in percent.') }, ['duration', 'percent']),
      abort: object('Answer a share of requests with a status.', { status: integer('HTTP status to answer.', { minimum: 200, maximum: 599 }), percent: percent('Share of requests, in percent.') }, ['status', 'percent']),
    }),
  }, ['targetRefs']),
}, ['spec']);

export const trafficPolicySchemas: Record<string, StructuralSchema> = { v1alpha1 };
