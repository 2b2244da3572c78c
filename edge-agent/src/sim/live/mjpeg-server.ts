import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

const BOUNDARY = 'edgeframe';
const PATH = /^\/([A-Za-z0-9._-]+)\.mjpg$/;

export interface MjpegServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** JPEG quality, 1–100. */
  quality?: number;
}

export interface MjpegServerStats {
  clients: number;
  published: number;
  /** Frames a slow client never got because a newer one replaced them. */
  skipped: number;
  rejected: number;
}

interface Client {
  res: ServerResponse;
  /** Newest frame waiting for the socket to drain; older ones are simply replaced. */
  waiting: Buffer | undefined;
  draining: boolean;
}

interface Feed {
  clients: Set<Client>;
  /** Order of `publish` calls; an encode that finishes after a newer one is discarded. */
  issued: number;
  sent: number;
}

/**
 * The simulator's cameras as IP cameras: each camera id is an MJPEG stream over HTTP
 * (`multipart/x-mixed-replace`), the format cheap store cameras serve, so the agent ingests the
 * simulator through the same ffmpeg path as real hardware.
 */
export class MjpegServer {
  private readonly feeds = new Map<string, Feed>();
  private readonly host: string;
  private readonly quality: number;
  private server: Server | undefined;
  private boundPort: number;
  private published = 0;
  private skipped = 0;
  private rejected = 0;

  constructor(options: MjpegServerOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.boundPort = options.port ?? 0;
    this.quality = options.quality ?? 80;
  }

  get port(): number {
    return this.boundPort;
  }

  async listen(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
  }

  url(cameraId: string): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.boundPort}/${encodeURIComponent(cameraId)}.mjpg`;
  }

  /**
   * Encodes one RGB24 frame and sends it to every client of the camera. `rgb24` is read while
   * the returned promise is pending, so reuse it only after awaiting.
   */
  async publish(cameraId: string, rgb24: Buffer, width: number, height: number): Promise<void> {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || rgb24.length !== width * height * 3) {
      this.rejected += 1;
      throw new RangeError(`mjpeg ${cameraId}: a ${width}×${height} RGB24 frame has ${width * height * 3} bytes, got ${rgb24.length}`);
    }
    const feed = this.feed(cameraId);
    // Nobody watching: skip the encode, which is most of the cost.
    if (feed.clients.size === 0) return;
    const order = ++feed.issued;
    const jpeg = await sharp(rgb24, { raw: { width, height, channels: 3 } }).jpeg({ quality: this.quality }).toBuffer();
    if (order < feed.sent) return;
    feed.sent = order;
    this.published += 1;
    for (const client of feed.clients) this.send(client, jpeg);
  }

  stats(): MjpegServerStats {
    let clients = 0;
    for (const feed of this.feeds.values()) clients += feed.clients.size;
    return { clients, published: this.published, skipped: this.skipped, rejected: this.rejected };
  }

  /** Ends every stream and stops listening. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const feed of this.feeds.values()) {
      for (const client of feed.clients) client.res.end();
      feed.clients.clear();
    }
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private feed(cameraId: string): Feed {
    let feed = this.feeds.get(cameraId);
    if (!feed) {
      feed = { clients: new Set(), issued: 0, sent: 0 };
      this.feeds.set(cameraId, feed);
    }
    return feed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const m = PATH.exec((req.url ?? '').split('?', 1)[0]!);
    if (req.method !== 'GET' || !m) {
      res.writeHead(req.method === 'GET' ? 404 : 405, { 'content-type': 'text/plain' });
      res.end(req.method === 'GET' ? 'streams are at /<camera>.mjpg\n' : 'GET only\n');
      return;
    }
    const feed = this.feed(decodeURIComponent(m[1]!));
    res.writeHead(200, {
      'content-type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
      'cache-control': 'no-cache, no-store',
      connection: 'close',
    });
    res.flushHeaders();
    const client: Client = { res, waiting: undefined, draining: false };
    feed.clients.add(client);
    res.on('drain', () => {
      client.draining = false;
      const next = client.waiting;
      client.waiting = undefined;
      if (next) this.send(client, next);
    });
    res.on('close', () => feed.clients.delete(client));
    // A client that vanished mid-write: forget it; the other clients are unaffected.
    res.on('error', () => feed.clients.delete(client));
  }

  private send(client: Client, jpeg: Buffer): void {
    if (client.draining) {
      if (client.waiting) this.skipped += 1;
      client.waiting = jpeg;
      return;
    }
    const { res } = client;
    res.cork();
    res.write(`--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`);
    res.write(jpeg);
    client.draining = !res.write('\r\n');
    res.uncork();
  }
}
