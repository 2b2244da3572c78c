import type { Component, ComponentHealth } from '../../lifecycle.js';
import type { ReplayScheduler } from '../../recording/replay-scheduler.js';
import type { CameraReplaySource } from './camera-replay-source.js';

/** A recorded camera as a component of a replaying agent: its frames join the replay's timeline. */
export class ReplayedCamera implements Component {
  constructor(
    readonly name: string,
    private readonly source: CameraReplaySource,
    private readonly scheduler: ReplayScheduler,
  ) {}

  async start(): Promise<void> {
    await this.source.open();
    this.scheduler.add(this.source);
  }

  async stop(): Promise<void> {
    await this.source.close();
  }

  health(): ComponentHealth {
    const stats = this.source.stats();
    return { status: stats.problems > 0 ? 'degraded' : 'up', ...stats };
  }
}
