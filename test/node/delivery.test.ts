/**
 * Progressive delivery on one real node: the Flagger suite (flagger.ts) and the Argo Rollouts
 * suite (argo-rollouts.ts) run at the same time, each in its own namespaces with its own
 * controllers, against one Skiff install and one Prometheus, as two teams of one cluster would.
 * Each suite's tests run one after another; the two suites wait on their controllers' analysis
 * intervals side by side.
 */
import { ok } from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { describeArgoRollouts } from './argo-rollouts.ts';
import { startDeliveryNode, stopDeliveryNode, type DeliveryNode } from './delivery.ts';
import { describeFlagger } from './flagger.ts';

describe('progressive delivery: Flagger and Argo Rollouts drive Skiff at once on a real node', { concurrency: true }, () => {
  const work = mkdtempSync(join(tmpdir(), 'skiff-delivery-'));
  let delivery: DeliveryNode | undefined;

  before(async () => {
    const { FLAGGER_CRDS: flaggerCrds, ROLLOUTS_CRDS: rolloutsCrds, PROMETHEUS_BIN: prometheusBin } = process.env;
    ok(flaggerCrds && rolloutsCrds && prometheusBin, 'FLAGGER_CRDS, ROLLOUTS_CRDS and PROMETHEUS_BIN name what scripts/delivery-bins.sh --rollouts built');
    delivery = await startDeliveryNode(work, [flaggerCrds, rolloutsCrds], prometheusBin, 19090);
  });
  // Runs after both suites' own `after` (their controllers stopped).
  after(() => stopDeliveryNode(work, delivery ?? {}));

  const shared = (): DeliveryNode => {
    ok(delivery, 'the delivery node started');
    return delivery;
  };
  describeFlagger(shared);
  describeArgoRollouts(shared);
});
