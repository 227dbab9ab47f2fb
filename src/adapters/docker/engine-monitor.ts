import { abortableSleep } from '../../core/sleep.js';
import { engineMessage } from './engine.js';

export interface EngineMonitorOptions {
  /** One look at the engine: resolves when it answers. */
  ping(): Promise<unknown>;
  /**
   * Called after every look. Others may learn of an outage first (a run that
   * lost the engine), so every look is reported, and the receiver keeps
   * track of changes.
   */
  onLook(available: boolean, message: string): void;
  /** Between looks (default 2 s). */
  intervalMs?: number;
  /** A look that takes longer counts as no answer (default 10 s). */
  timeoutMs?: number;
}

/**
 * Watches the container engine by pinging it: the daemon's source for the
 * EngineAvailable condition, /healthz, `reprod_engine_up` and for looking
 * again at the stages that wait for the engine when it comes back.
 */
export class EngineMonitor {
  constructor(private readonly o: EngineMonitorOptions) {}

  /** Looks now, and says what it saw. */
  async look(): Promise<boolean> {
    let message = '';
    let up = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.o.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${(this.o.timeoutMs ?? 10_000) / 1000} s`)), this.o.timeoutMs ?? 10_000);
        }),
      ]);
    } catch (err) {
      up = false;
      message = engineMessage(err);
    } finally {
      clearTimeout(timer);
    }
    this.o.onLook(up, message);
    return up;
  }

  /** Looks every interval until `signal` aborts. */
  async start(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.look();
      // one listener on the daemon's signal at a time, not one more every look
      await abortableSleep(this.o.intervalMs ?? 2_000, signal);
    }
  }
}
