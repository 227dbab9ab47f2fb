/** The Redactor is shared by tracking and the stage logs: it lives in core/redact.ts. */
export { Redactor } from '../../core/redact.js';
