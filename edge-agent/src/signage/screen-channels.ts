/**
 * Server-Sent Events to the screens: each screen page holds one stream; a new stream gets the
 * screen's hello and its current card at once, so a screen that reconnects (or a reloaded agent)
 * is never blank. Comment pings keep proxies and the browser from timing the stream out.
 */
import type { ServerResponse } from 'node:http';
import type { ScreenTrigger } from '../db/repositories/screen-exposures.js';

export interface ScreenCardMessage {
  v: 1;
  exposureId: number | null;
  screen: string;
  trigger: ScreenTrigger;
  title: string;
  message?: string;
  cards: { product: string; name: string; priceText: string; image: string; reason: string }[];
  shownAt: string;
  until: string | null;
}

export interface ScreenHello {
  v: 1;
  screen: string;
  name: string;
  store: string;
}

const PING_MS = 15_000;

export class ScreenChannels {
  private readonly streams = new Map<string, Set<ServerResponse>>();
  private readonly current = new Map<string, ScreenCardMessage>();
  private timer: NodeJS.Timeout | undefined;
  private sent = 0;

  open(): void {
    this.timer ??= setInterval(() => this.writeAll(': ping\n\n'), PING_MS);
    this.timer.unref();
  }

  /** Takes over a response as the screen's stream until the client goes away. */
  attach(hello: ScreenHello, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    let set = this.streams.get(hello.screen);
    if (!set) this.streams.set(hello.screen, (set = new Set()));
    set.add(res);
    const remove = () => set.delete(res);
    res.on('close', remove);
    res.on('error', remove);
    res.write(`retry: 1000\nevent: hello\ndata: ${JSON.stringify(hello)}\n\n`);
    const card = this.current.get(hello.screen);
    if (card) res.write(frame(card));
  }

  publish(card: ScreenCardMessage): void {
    this.current.set(card.screen, card);
    const set = this.streams.get(card.screen);
    if (!set) return;
    const text = frame(card);
    for (const res of set) {
      res.write(text);
      this.sent += 1;
    }
  }

  currentCard(screen: string): ScreenCardMessage | undefined {
    return this.current.get(screen);
  }

  connected(screen: string): number {
    return this.streams.get(screen)?.size ?? 0;
  }

  get messagesSent(): number {
    return this.sent;
  }

  /** Ends every stream (the server is closing: the pages reconnect to the next one). */
  closeAll(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const set of this.streams.values()) {
      for (const res of set) res.end();
      set.clear();
    }
  }

  private writeAll(text: string): void {
    for (const set of this.streams.values()) for (const res of set) res.write(text);
  }
}

function frame(card: ScreenCardMessage): string {
  return `event: card\ndata: ${JSON.stringify(card)}\n\n`;
}
