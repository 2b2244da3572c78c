/**
 * Device URLs of the store configuration, parsed once. The scheme picks the transport, so the
 * same parser runs on a real port, a ser2net socket, a recording or the simulator.
 */
export type DeviceUrl =
  | { scheme: 'serial'; url: string; path: string; baudRate: number }
  | { scheme: 'tcp'; url: string; host: string; port: number }
  | { scheme: 'replay'; url: string; file: string }
  | { scheme: 'sim'; url: string; name: string };

export const DEFAULT_BAUD_RATE = 115_200;

export class DeviceUrlError extends Error {
  override readonly name = 'DeviceUrlError';
}

export function parseDeviceUrl(url: string): DeviceUrl {
  const m = /^([a-z0-9]+):\/\/(.*)$/.exec(url);
  if (!m) throw new DeviceUrlError(`${url}: not a device URL (scheme://…)`);
  const [, scheme, rest] = m as unknown as [string, string, string];
  const [location, query = ''] = rest.split('?', 2) as [string, string?];
  const params = new URLSearchParams(query);
  switch (scheme) {
    case 'serial': {
      if (!location.startsWith('/')) throw new DeviceUrlError(`${url}: serial URLs name an absolute device path, e.g. serial:///dev/ttyUSB0`);
      const baud = params.get('baudRate') ?? params.get('baud');
      const baudRate = baud === null ? DEFAULT_BAUD_RATE : Number(baud);
      if (!Number.isInteger(baudRate) || baudRate <= 0) throw new DeviceUrlError(`${url}: baudRate must be a positive integer`);
      return { scheme, url, path: decodeURIComponent(location), baudRate };
    }
    case 'tcp': {
      const hp = /^(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(location);
      if (!hp) throw new DeviceUrlError(`${url}: tcp URLs are tcp://host:port`);
      const port = Number(hp[2]);
      if (port < 1 || port > 65535) throw new DeviceUrlError(`${url}: port must be 1–65535`);
      return { scheme, url, host: hp[1]!.replace(/^\[|\]$/g, ''), port };
    }
    case 'replay':
      if (location === '') throw new DeviceUrlError(`${url}: replay URLs name a capture file`);
      return { scheme, url, file: decodeURIComponent(location) };
    case 'sim':
      if (location === '') throw new DeviceUrlError(`${url}: sim URLs name a simulated device`);
      return { scheme, url, name: location };
    default:
      throw new DeviceUrlError(`${url}: unknown scheme "${scheme}" (serial, tcp, replay, sim)`);
  }
}
