import type { IncomingMessage, ServerResponse } from 'node:http';

/** How often an idle stream gets a comment line, so that proxies and browsers keep it open. */
const HEARTBEAT_MS = 15_000;

/**
 * Server-Sent Events to any number of clients: `open` answers a request
 * with `text/event-stream` and keeps it, `send` writes one event to every
 * open stream, `close` ends them all (the server is stopping). A client that
 * goes away is dropped; nothing is buffered for it (the page reads the
 * current state again when it reconnects).
 */
export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  private heartbeat: NodeJS.Timeout | undefined;

  get size(): number {
    return this.clients.size;
  }

  open(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // the browser's EventSource reconnects after this many ms when the daemon restarts
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    const drop = () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stopHeartbeat();
    };
    req.once('close', drop);
    res.once('close', drop);
    this.heartbeat ??= setInterval(() => this.broadcast(': keep-alive\n\n'), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** One event named `event`, its data as one JSON line (JSON has no raw newlines, so one `data:` field holds it). */
  send(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    this.broadcast(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  close(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.stopHeartbeat();
  }

  private broadcast(text: string): void {
    for (const res of this.clients) if (!res.writableEnded) res.write(text);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
