import { DeviceUrlError, parseDeviceUrl } from '../device-url.js';
import type { ByteTransport, TransportContext } from './byte-transport.js';
import { ReplayTransport } from './replay-transport.js';
import { SerialPortTransport } from './serialport-transport.js';
import { TcpTransport } from './tcp-transport.js';

/**
 * The transport a device URL names. `sim://name` is whatever real URL the running simulator gave
 * that device (a pty path), so a simulated shelf goes through the same serial code as a real one.
 * `onProblem` hears about a damaged recording (`replay://`).
 */
export function createTransport(url: string, ctx: TransportContext, onProblem?: (message: string) => void): ByteTransport {
  const parsed = parseDeviceUrl(url);
  switch (parsed.scheme) {
    case 'serial':
      return new SerialPortTransport(url, parsed.path, parsed.baudRate, ctx.clock);
    case 'tcp':
      return new TcpTransport(url, parsed.host, parsed.port, ctx.clock);
    case 'replay':
      return new ReplayTransport(url, parsed.file, ctx.replay, onProblem);
    case 'sim': {
      const real = ctx.resolveSim?.(parsed.name);
      if (real === undefined) throw new DeviceUrlError(`${url}: no simulated device named "${parsed.name}" is running`);
      if (real.startsWith('sim://')) throw new DeviceUrlError(`${url}: the simulator resolved it to another sim:// URL (${real})`);
      return createTransport(real, ctx, onProblem);
    }
  }
}
