import { describe, expect, it } from 'vitest';
import { ownerFromLabels, ownerLabels, ownerLiveness, startTimeOf, type ContainerOwner, type ProcReader } from '../../../../src/adapters/docker/owner.js';

/** `/proc/<pid>/stat` as the kernel writes it: the command name in parentheses may hold spaces and `)`. */
const stat = (pid: number, comm: string, start: number) => `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194560 ${'0 '.repeat(12)}${start} 1000 200\n`;

describe('container owner', () => {
  it("reads the start time (field 22) past a command name with spaces and ')'", () => {
    expect(startTimeOf(stat(7, 'node', 123456))).toBe('123456');
    expect(startTimeOf(stat(7, 'a b) c', 99))).toBe('99');
    expect(startTimeOf(undefined)).toBe('');
  });

  it('round-trips through labels; containers without owner labels have no owner', () => {
    const o: ContainerOwner = { id: 'x1', host: 'h', bootId: 'b', pidNs: 'pid:[4026531836]', pid: 42, startTime: '77' };
    expect(ownerFromLabels(ownerLabels(o))).toEqual(o);
    expect(ownerFromLabels({ 'reprod.stage': 'train' })).toBeUndefined();
  });

  describe('liveness', () => {
    const me: ContainerOwner = { id: 'me', host: 'h', bootId: 'boot-1', pidNs: 'pid:[1]', pid: 10, startTime: '5' };
    const procs = new Map<number, string>([[42, stat(42, 'node', 900)]]);
    const proc: ProcReader = { stat: (pid) => (pid === 'self' ? stat(10, 'node', 5) : procs.get(pid)), bootId: () => 'boot-1', pidNs: () => 'pid:[1]' };
    const other = (o: Partial<ContainerOwner>): ContainerOwner => ({ ...me, id: 'other', pid: 42, startTime: '900', ...o });

    it('tells this process, a live one, a gone one (pid free or reused) and one it cannot see', () => {
      expect(ownerLiveness(me, me, proc)).toBe('self');
      expect(ownerLiveness(other({}), me, proc)).toBe('alive');
      expect(ownerLiveness(other({ pid: 43 }), me, proc)).toBe('gone');
      expect(ownerLiveness(other({ startTime: '901' }), me, proc)).toBe('gone');
      expect(ownerLiveness(other({ pidNs: 'pid:[2]' }), me, proc)).toBe('unknown');
      expect(ownerLiveness(other({ bootId: 'boot-0' }), me, proc)).toBe('unknown');
      expect(ownerLiveness(other({ bootId: '' }), me, proc)).toBe('unknown');
    });
  });
});
