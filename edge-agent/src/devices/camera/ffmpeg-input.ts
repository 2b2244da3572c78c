import { fileURLToPath } from 'node:url';
import { DeviceUrlError } from '../device-url.js';

/** What the agent wants out of ffmpeg: BGR24 frames of the detect size, at most `fps` of them. */
export interface FfmpegOutput {
  width: number;
  height: number;
  /** Omitted for recordings: every decoded frame is kept. */
  fps?: number;
}

export interface FfmpegInputOptions {
  /** Gives up a connect or read that hangs this long (ffmpeg exits with an error line). */
  ioTimeoutMs?: number;
}

export const DEFAULT_IO_TIMEOUT_MS = 5_000;

const QUIET = ['-nostdin', '-hide_banner', '-loglevel', 'error'];
const SIZE = /^\d{1,5}x\d{1,5}$/;

/**
 * The input half of an ffmpeg command line for a camera URL. `sim://` and `replay://` are not
 * ffmpeg inputs: the caller resolves the first to the simulator's HTTP stream and plays the
 * second with a replay source.
 */
export function ffmpegInputArgs(url: string, options: FfmpegInputOptions = {}): string[] {
  const timeoutUs = String(Math.round((options.ioTimeoutMs ?? DEFAULT_IO_TIMEOUT_MS) * 1000));
  const scheme = /^([a-z0-9]+):\/\//.exec(url)?.[1];
  switch (scheme) {
    case 'rtsp':
    case 'rtsps':
      // TCP interleaving survives store Wi-Fi and NAT where UDP RTP silently loses packets.
      return ['-rtsp_transport', 'tcp', '-timeout', timeoutUs, '-fflags', 'nobuffer', '-flags', 'low_delay', '-i', url];
    case 'http':
    case 'https':
      // The multipart stream carries no timestamps; without wall-clock ones ffmpeg assumes
      // 25 fps and the fps filter would keep the wrong frames.
      return [
        '-f', 'mpjpeg', '-rw_timeout', timeoutUs, '-use_wallclock_as_timestamps', '1',
        '-probesize', '32', '-analyzeduration', '0', '-fflags', 'nobuffer', '-flags', 'low_delay', '-i', url,
      ];
    case 'v4l2': {
      const parsed = new URL(url);
      if (parsed.host !== '' || !parsed.pathname.startsWith('/dev/')) {
        throw new DeviceUrlError(`${url}: v4l2 URLs name a device path, e.g. v4l2:///dev/video0`);
      }
      const args = ['-f', 'v4l2'];
      const format = parsed.searchParams.get('format');
      const size = parsed.searchParams.get('size');
      if (format !== null) args.push('-input_format', format);
      if (size !== null) {
        if (!SIZE.test(size)) throw new DeviceUrlError(`${url}: size must be WIDTHxHEIGHT, e.g. 1280x720`);
        args.push('-video_size', size);
      }
      return [...args, '-i', decodeURIComponent(parsed.pathname)];
    }
    case 'file': {
      const parsed = new URL(url);
      if (parsed.host !== '') throw new DeviceUrlError(`${url}: file URLs are absolute, e.g. file:///videos/aisle.mp4`);
      const looping = !isFiniteInput(url);
      parsed.search = '';
      return ['-re', ...(looping ? ['-stream_loop', '-1'] : []), '-i', asFfmpegFile(fileURLToPath(parsed))];
    }
    case 'sim':
    case 'replay':
      throw new DeviceUrlError(`${url}: ${scheme}:// cameras are not ffmpeg inputs; resolve them before ingest`);
    default:
      throw new DeviceUrlError(`${url}: unknown camera scheme (rtsp, rtsps, http, https, v4l2, file)`);
  }
}

/** A `file://` camera without `?loop=1` ends; every other input is a live stream that should never end. */
export function isFiniteInput(url: string): boolean {
  if (!url.startsWith('file://')) return false;
  const loop = new URL(url).searchParams.get('loop');
  return loop === null || loop === '0' || loop === 'false';
}

/**
 * Scales to the detect size keeping the picture's aspect, padding the rest black, so a 4:3
 * camera is never stretched into a 16:9 detector input.
 */
export function scaleFilter(width: number, height: number): string {
  return `scale=${width}:${height}:force_original_aspect_ratio=decrease:flags=bilinear,pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2`;
}

export function ffmpegOutputArgs(output: FfmpegOutput): string[] {
  if (!Number.isInteger(output.width) || !Number.isInteger(output.height) || output.width <= 0 || output.height <= 0) {
    throw new RangeError(`ffmpeg output size must be positive integers, got ${output.width}×${output.height}`);
  }
  if (output.fps !== undefined && !(output.fps > 0)) throw new RangeError(`ffmpeg output fps must be > 0, got ${output.fps}`);
  // Decimating before scaling means frames that will be dropped are never scaled.
  const filter = output.fps === undefined ? scaleFilter(output.width, output.height) : `fps=${output.fps},${scaleFilter(output.width, output.height)}`;
  return [
    '-map', '0:v:0', '-vf', filter,
    ...(output.fps === undefined ? ['-fps_mode', 'passthrough'] : []),
    '-pix_fmt', 'bgr24', '-f', 'rawvideo', 'pipe:1',
  ];
}

/** The whole command line for a live camera. */
export function ffmpegCameraArgs(url: string, output: FfmpegOutput, options: FfmpegInputOptions = {}): string[] {
  return [...QUIET, ...ffmpegInputArgs(url, options), ...ffmpegOutputArgs(output)];
}

/** The whole command line for decoding a recorded video as fast as it can be read, every frame kept. */
export function ffmpegDecodeArgs(file: string, output: Omit<FfmpegOutput, 'fps'>): string[] {
  return [...QUIET, '-i', asFfmpegFile(file), ...ffmpegOutputArgs(output)];
}

// A bare path with a colon (`cam:1.mp4`) would be read as a protocol; name the file protocol.
function asFfmpegFile(path: string): string {
  return `file:${path}`;
}
