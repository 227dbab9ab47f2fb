import { describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/core/ports.js';
import type { StagePhase } from '../../../src/status/status-docs.js';
import { StatusWriter } from '../../../src/reconcile/status-writer.js';
import { SimulatedClock } from '../../helpers/simulated-clock.js';
import { fileStage } from '../../helpers/stages.js';

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet };

/**
 * A writer over a sink whose pipeline write takes `pipelineMs` of simulated
 * time (a stage write takes none); each pipeline write records the phases it
 * wrote.
 */
function writerWith(pipelineMs: number) {
  const clock = new SimulatedClock();
  const phases = new Map<string, StagePhase>();
  const pipelineWrites: { at: number; stages: Record<string, StagePhase> }[] = [];
  const stageWrites: string[] = [];
  const writer = new StatusWriter({
    clock,
    log: quiet,
    readLock: async () => ({ stages: new Map() }),
    view: (name) => {
      const phase = phases.get(name);
      return phase === undefined ? undefined : { stage: fileStage(name, [], []), runtime: undefined, report: { phase, reasons: [] } };
    },
    pipeline: () => ({ file: 'dvc.yaml', specText: '', stages: Object.fromEntries(phases) }),
    sink: {
      stage: async (stage) => void stageWrites.push(stage.name),
      pipeline: async (input) => {
        pipelineWrites.push({ at: clock.now().getTime(), stages: { ...input.stages } });
        await clock.advance(pipelineMs);
      },
    },
  });
  const set = (name: string, phase: StagePhase) => {
    phases.set(name, phase);
    writer.markStage(name);
  };
  return { clock, writer, set, pipelineWrites, stageWrites };
}

describe('StatusWriter', () => {
  it('writes every phase change to the pipeline at once when its writes take no time', async () => {
    const w = writerWith(0);
    for (const phase of ['Queued', 'Running', 'UpToDate'] as const) {
      w.set('a', phase);
      await w.writer.idle();
    }
    expect(w.pipelineWrites.map((p) => p.stages['a'])).toEqual(['Queued', 'Running', 'UpToDate']);
  });

  it('gathers the phase changes that come during the pause after a slow pipeline write, then writes them once', async () => {
    const w = writerWith(10);
    w.set('s0', 'Queued');
    await w.clock.advance(0);
    expect(w.pipelineWrites).toHaveLength(1);
    // written at t0, took 10 ms: nothing more until 9 × 10 ms after it ended
    const t0 = w.pipelineWrites[0]?.at as number;
    for (let i = 1; i < 50; i++) {
      w.set(`s${i}`, 'Queued');
      await w.clock.advance(1);
    }
    expect(w.stageWrites).toHaveLength(50);
    expect(w.pipelineWrites).toHaveLength(1);
    await w.clock.advance(100 - 49);
    expect(w.pipelineWrites).toHaveLength(2);
    expect(w.pipelineWrites[1]?.at).toBe(t0 + 10 + 90);
    expect(Object.keys(w.pipelineWrites[1]?.stages ?? {})).toHaveLength(50);
  });

  it('writes an explicit request, and what idle() waits for, without the pause', async () => {
    const w = writerWith(10);
    w.set('a', 'Queued');
    await w.clock.advance(0);
    w.set('a', 'Running');
    await w.clock.advance(1);
    expect(w.pipelineWrites).toHaveLength(1);
    // idle() means everything marked so far is written
    const idle = w.writer.idle();
    await w.clock.advance(10);
    await idle;
    expect(w.pipelineWrites.map((p) => p.stages['a'])).toEqual(['Queued', 'Running']);
    w.writer.markPipeline();
    await w.clock.advance(0);
    expect(w.pipelineWrites).toHaveLength(3);
    expect(w.clock.pendingTimers).toBe(0);
  });
});
