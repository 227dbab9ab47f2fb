import { describe, expect, it } from 'vitest';
import {
  containerIdFromCgroup,
  containerIdFromMountinfo,
  mapThroughMounts,
  mountMapper,
  mountsFromInspect,
  overrideMapper,
} from '../../../../src/adapters/docker/host-paths.js';
import { ReprodError } from '../../../../src/core/errors.js';

const ID = '4f1c0e3a9b2d7c6e5f8a1b0c9d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e';

// /proc/self/mountinfo of a container started with -v /home/ana/proj:/workspace -v data:/data
const MOUNTINFO = [
  `612 540 0:52 / / rw,relatime master:248 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ABC,upperdir=/var/lib/docker/overlay2/x/diff`,
  `613 612 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw`,
  `620 612 254:1 /home/ana/proj /workspace rw,relatime - ext4 /dev/vda1 rw`,
  `621 612 254:1 /var/lib/docker/volumes/data/_data /data rw,relatime master:1 - ext4 /dev/vda1 rw`,
  `622 612 254:1 /var/lib/docker/containers/${ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda1 rw`,
  `623 612 254:1 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw`,
  `624 612 254:1 /var/lib/docker/containers/${ID}/hosts /etc/hosts rw,relatime - ext4 /dev/vda1 rw`,
].join('\n');

// `docker inspect` Mounts of the same container
const INSPECT_MOUNTS = [
  { Type: 'bind', Source: '/home/ana/proj', Destination: '/workspace', Mode: '', RW: true, Propagation: 'rprivate' },
  { Type: 'volume', Name: 'data', Source: '/var/lib/docker/volumes/data/_data', Destination: '/data', Driver: 'local', Mode: 'z', RW: true },
  { Type: 'bind', Source: '/home/ana/proj/.cache-on-ssd', Destination: '/workspace/.cache', Mode: '', RW: true },
  { Type: 'tmpfs', Source: '', Destination: '/scratch', Mode: '', RW: true },
  { Type: 'bind', Source: '/var/run/docker.sock', Destination: '/var/run/docker.sock', Mode: '', RW: true },
];

describe('container detection', () => {
  it('finds the container ID in mountinfo, from the /etc/hostname bind', () => {
    expect(containerIdFromMountinfo(MOUNTINFO)).toBe(ID);
  });

  it('finds nothing on a host', () => {
    const host = '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n22 27 0:21 / /proc rw,relatime - proc proc rw\n';
    expect(containerIdFromMountinfo(host)).toBeUndefined();
    expect(containerIdFromCgroup('0::/\n')).toBeUndefined();
    expect(containerIdFromCgroup('4:memory:/process_api/0fe997e7d4112aabcc9a6225a567ab45\n')).toBeUndefined();
  });

  it('finds the container ID in a cgroup v1 path and a systemd scope', () => {
    expect(containerIdFromCgroup(`12:memory:/docker/${ID}\n11:cpu:/docker/${ID}\n`)).toBe(ID);
    expect(containerIdFromCgroup(`0::/system.slice/docker-${ID}.scope\n`)).toBe(ID);
  });
});

describe('mapThroughMounts', () => {
  const mounts = mountsFromInspect(INSPECT_MOUNTS);

  it('keeps the mounts that have a host path', () => {
    expect(mounts.map((m) => m.destination)).toEqual(['/workspace', '/data', '/workspace/.cache', '/var/run/docker.sock']);
  });

  it('maps a path through the mount that covers it', () => {
    expect(mapThroughMounts('/workspace', mounts)).toBe('/home/ana/proj');
    expect(mapThroughMounts('/workspace/', mounts)).toBe('/home/ana/proj');
    expect(mapThroughMounts('/workspace/data/raw.csv', mounts)).toBe('/home/ana/proj/data/raw.csv');
    expect(mapThroughMounts('/data/x', mounts)).toBe('/var/lib/docker/volumes/data/_data/x');
  });

  it('prefers the longest mount destination', () => {
    expect(mapThroughMounts('/workspace/.cache/pip', mounts)).toBe('/home/ana/proj/.cache-on-ssd/pip');
    expect(mapThroughMounts('/workspace/.cachex', mounts)).toBe('/home/ana/proj/.cachex');
  });

  it('maps nothing outside the mounts, nor a tmpfs, nor a name that only shares a prefix', () => {
    expect(mapThroughMounts('/etc/passwd', mounts)).toBeUndefined();
    expect(mapThroughMounts('/scratch/x', mounts)).toBeUndefined();
    expect(mapThroughMounts('/workspace2', mounts)).toBeUndefined();
  });

  it('maps a same-path mount to itself', () => {
    expect(mapThroughMounts('/home/ana/proj/x', [{ source: '/home/ana/proj', destination: '/home/ana/proj' }])).toBe('/home/ana/proj/x');
  });
});

describe('mappers', () => {
  it('refuses an unmappable path and says how to mount the workspace', () => {
    const m = mountMapper(ID, mountsFromInspect(INSPECT_MOUNTS), '/srv/ws');
    expect(m.containerId).toBe(ID);
    let err: unknown;
    try {
      m.toHost('/srv/ws');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReprodError);
    const e = err as ReprodError;
    expect(e.code).toBe('RUNTIME');
    expect(e.message).toBe(`/srv/ws is not on a bind mount or volume of reprod's container ${ID.slice(0, 12)}, so stage containers cannot see it`);
    expect(e.remedy).toContain('-v "$PWD:$PWD" -w "$PWD"');
    expect(e.remedy).toContain('REPROD_HOST_WORKSPACE');
  });

  it('maps the workspace through an explicit override, and nothing else', () => {
    const m = overrideMapper('/workspace', '/home/ana/proj');
    expect(m.toHost('/workspace/models')).toBe('/home/ana/proj/models');
    expect(() => m.toHost('/tmp/x')).toThrow(ReprodError);
  });
});
