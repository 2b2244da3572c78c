import { bgr24Bytes, type CameraFrame } from './frame.js';

/** A frame the pool owns; only the pool and the code filling it see it as writable. */
export interface PooledFrame extends CameraFrame {
  seq: number;
  at: number;
}

class Slot implements PooledFrame {
  seq = 0;
  at = 0;
  free = true;
  readonly data: Buffer;
  readonly release: () => void;

  constructor(
    readonly camera: string,
    readonly width: number,
    readonly height: number,
    pool: FramePool,
  ) {
    this.data = Buffer.allocUnsafeSlow(bgr24Bytes(width, height));
    this.release = () => pool.give(this);
  }
}

/**
 * A fixed set of frame buffers allocated once, so a camera running for weeks allocates nothing
 * per frame. When every buffer is out the pool says so instead of growing: a consumer that
 * forgets `release()` costs frames, never memory.
 */
export class FramePool {
  private readonly freeSlots: Slot[] = [];
  private misusedReleases = 0;

  constructor(
    readonly camera: string,
    readonly width: number,
    readonly height: number,
    readonly capacity: number,
    private readonly onRelease: () => void = () => undefined,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`frame pool capacity must be a positive integer, got ${capacity}`);
    for (let i = 0; i < capacity; i++) this.freeSlots.push(new Slot(camera, width, height, this));
  }

  /** A free frame, or undefined when every frame is out. */
  acquire(): PooledFrame | undefined {
    const slot = this.freeSlots.pop();
    if (slot) slot.free = false;
    return slot;
  }

  get available(): number {
    return this.freeSlots.length;
  }

  /** `release()` calls on a frame that was already back in the pool: a consumer bug, counted. */
  get misuse(): number {
    return this.misusedReleases;
  }

  /** @internal called by a frame's `release()`. */
  give(slot: Slot): void {
    if (slot.free) {
      this.misusedReleases += 1;
      return;
    }
    slot.free = true;
    this.freeSlots.push(slot);
    this.onRelease();
  }
}
