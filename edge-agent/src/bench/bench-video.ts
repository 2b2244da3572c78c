/**
 * The recorded video `bench vision` runs on: real people on the PETS 2009 sequence in
 * `../shared` when it is there, else a busy simulated store day; either way H.264 at the detect
 * size, as a camera recording would be.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { scaleFilter } from '../devices/camera/ffmpeg-input.js';
import { loadConfigFile } from '../config/load-config.js';
import { DEMO_CONFIG, packageRoot } from '../paths.js';
import { openRecording } from '../recording/recording-reader.js';
import { recordSimulation } from '../sim/record-simulation.js';
import { resolveScenario } from '../sim/scenario.js';

export interface BenchVideo {
  file: string;
  source: string;
  width: number;
  height: number;
  fps: number;
}

export const PETS_FRAMES = (): string => join(packageRoot(), '..', 'shared', 'data', 'mot', 'PETS-S3-MF1', 'img');
const PETS_FPS = 7;

export async function benchVideo(dir: string, width: number, height: number): Promise<BenchVideo> {
  const pets = PETS_FRAMES();
  if (existsSync(pets) && readdirSync(pets).some((f) => f.endsWith('.jpg'))) {
    const file = join(dir, 'pets-s3-mf1.mkv');
    await ffmpeg([
      '-nostdin', '-hide_banner', '-loglevel', 'error', '-y',
      '-framerate', String(PETS_FPS), '-start_number', '1', '-i', join(pets, 'frame_%04d.jpg'),
      '-vf', scaleFilter(width, height), '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', file,
    ]);
    return { file, source: 'PETS 2009 S3-MF1 (../shared), 107 real frames', width, height, fps: PETS_FPS };
  }
  const out = join(dir, 'sim');
  const { config } = await loadConfigFile(DEMO_CONFIG());
  await recordSimulation({ config, scenario: resolveScenario({ seed: 7, minutes: 1, shoppers: 8, profile: 'busy' }), out, video: true, createdBy: 'bench vision' });
  const camera = config.cameras.find((c) => c.role === 'overhead');
  const video = openRecording(out).manifest.video.find((v) => v.camera === camera?.id);
  if (!video) throw new Error(`the simulated recording in ${out} has no overhead video`);
  return { file: join(out, video.file), source: 'simulated busy store (no ../shared)', width: video.width, height: video.height, fps: video.fps };
}

function ffmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}: ${err.trim().slice(0, 300)}`))));
  });
}
