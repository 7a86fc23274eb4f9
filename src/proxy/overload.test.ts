import { test } from 'node:test';
import { deepEqual, equal } from 'node:assert/strict';
import { boundsFor, cgroupMemoryLimit } from './overload.ts';

const MiB = 2 ** 20;

test('bounds from a memory limit: the 128 MiB a cluster gives a sidecar, more, and a limit too small to share', () => {
  deepEqual(boundsFor(128 * MiB), { limitBytes: 128 * MiB, maxInFlight: 194, maxInboundConnections: 358, maxOutboundConnections: 546 });
  equal(boundsFor(256 * MiB).maxInFlight, 582);
  // Below the reserve every bound is still at least 32.
  deepEqual(boundsFor(32 * MiB), { limitBytes: 32 * MiB, maxInFlight: 32, maxInboundConnections: 44, maxOutboundConnections: 68 });
});

/** A filesystem of a few files for cgroupMemoryLimit. */
const files = (entries: Record<string, string>) => (path: string) => entries[path];

test('the memory limit is the lowest along the cgroup path, v1 and v2; none when unlimited or absent', () => {
  // cgroup v1, the bench's nested cgroup: the limit is on the leaf.
  equal(cgroupMemoryLimit(files({
    '/proc/self/cgroup': '12:pids:/x\n4:cpu,cpuacct:/x\n7:memory:/skiff-soak-client-1\n',
    '/sys/fs/cgroup/memory/skiff-soak-client-1/memory.limit_in_bytes': '134217728\n',
    '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
  })), 128 * MiB);
  // cgroup v2, a pod whose limit is on the parent and a lower one on the container.
  equal(cgroupMemoryLimit(files({
    '/proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
    '/sys/fs/cgroup/kubepods/pod1/ctr/memory.max': '134217728\n',
    '/sys/fs/cgroup/kubepods/pod1/memory.max': '268435456\n',
    '/sys/fs/cgroup/kubepods/memory.max': 'max\n',
  })), 128 * MiB);
  // A container with its own cgroup namespace: the path is "/", the limit at the mount's root.
  equal(cgroupMemoryLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/memory.max': '201326592\n' })), 192 * MiB);
  // A v1 container that sees the host's path but has its own cgroup mounted at the root.
  equal(cgroupMemoryLimit(files({ '/proc/self/cgroup': '9:memory:/kubepods/burstable/podx/abc\n', '/sys/fs/cgroup/memory/memory.limit_in_bytes': '134217728' })), 128 * MiB);
  equal(cgroupMemoryLimit(files({ '/proc/self/cgroup': '0::/user.slice\n', '/sys/fs/cgroup/user.slice/memory.max': 'max\n', '/sys/fs/cgroup/memory.max': 'max' })), undefined);
  equal(cgroupMemoryLimit(files({ '/proc/self/cgroup': '7:memory:/\n', '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712' })), undefined);
  equal(cgroupMemoryLimit(files({})), undefined, 'no /proc (not Linux)');
  equal(cgroupMemoryLimit(files({ '/proc/self/cgroup': 'garbage\n0::/a\n', '/sys/fs/cgroup/a/memory.max': 'not a number' })), undefined);
});
