import type { ViewPhase } from '../../src/core/ports/web-view.js';

/** Each phase's colour and words (the legend, the nodes, the badges). */
export const PHASES: Record<ViewPhase, { color: string; label: string }> = {
  UpToDate: { color: '#2f9e62', label: 'Up to date' },
  Stale: { color: '#d4950f', label: 'Stale' },
  Hashing: { color: '#7a8f1c', label: 'Hashing' },
  Queued: { color: '#7c8ea6', label: 'Queued' },
  Building: { color: '#16458f', label: 'Building' },
  Running: { color: '#2b72d6', label: 'Running' },
  Failed: { color: '#d43f3f', label: 'Failed' },
  Blocked: { color: '#8a58c4', label: 'Blocked' },
  EngineUnavailable: { color: '#5f6670', label: 'Engine unavailable' },
  Cancelled: { color: '#b5733a', label: 'Cancelled' },
  Backoff: { color: '#c4622d', label: 'Backing off' },
  Frozen: { color: '#3a9aa4', label: 'Frozen' },
};

/** The phases the legend shows (the others are rare and named on their nodes). */
export const LEGEND: ViewPhase[] = ['UpToDate', 'Stale', 'Hashing', 'Queued', 'Building', 'Running', 'Failed', 'Blocked', 'EngineUnavailable'];
