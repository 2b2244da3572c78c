import { statfs } from 'node:fs/promises';

/** Free space on the disk holding `dir`, for an unprivileged writer (what SQLite may still use). */
export async function freeBytes(dir: string): Promise<{ free: number; total: number }> {
  const s = await statfs(dir);
  return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
}
