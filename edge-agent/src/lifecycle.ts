import { EdgeError, ErrorCode, describeError } from './errors.js';
import type { Logger } from './log.js';

export type HealthStatus = 'up' | 'degraded' | 'down';

export interface ComponentHealth {
  status: HealthStatus;
  detail?: string;
  [key: string]: unknown;
}

/**
 * A part of the agent with a lifetime. Constructors have no side effects: ports, files,
 * timers and child processes are opened in `start()` and released in `stop()`.
 */
export interface Component {
  readonly name: string;
  /** Names of components that must be running before this one starts. */
  readonly dependsOn?: readonly string[];
  start(): Promise<void>;
  stop(): Promise<void>;
  health?(): ComponentHealth;
}

export type ComponentState = 'stopped' | 'starting' | 'running' | 'stopping' | 'failed';

export interface ComponentReport extends ComponentHealth {
  state: ComponentState;
}

export interface LifecycleOptions {
  /** Longest wait for one component's `stop()` before moving on to the next. */
  stopTimeoutMs?: number;
}

/**
 * Starts components in dependency order and stops them in reverse. A failed start stops
 * what already started, so a half-started agent never keeps ports or files open.
 */
export class Lifecycle {
  private readonly ordered: Component[];
  private readonly states = new Map<string, ComponentState>();
  private readonly stopTimeoutMs: number;

  constructor(components: readonly Component[], private readonly log: Logger, options: LifecycleOptions = {}) {
    this.ordered = dependencyOrder(components);
    for (const c of this.ordered) this.states.set(c.name, 'stopped');
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  }

  get startOrder(): readonly string[] {
    return this.ordered.map((c) => c.name);
  }

  async start(): Promise<void> {
    const started: Component[] = [];
    for (const component of this.ordered) {
      this.states.set(component.name, 'starting');
      const t0 = performance.now();
      try {
        await component.start();
      } catch (err) {
        this.states.set(component.name, 'failed');
        this.log.error({ component: component.name, err }, 'component failed to start; stopping the rest');
        await this.stopAll(started.reverse());
        throw new EdgeError(
          ErrorCode.LifecycleStartFailed,
          `${component.name} failed to start: ${describeError(err)}`,
          { cause: err, details: { component: component.name } },
        );
      }
      this.states.set(component.name, 'running');
      started.push(component);
      this.log.debug({ component: component.name, ms: Math.round(performance.now() - t0) }, 'component started');
    }
  }

  /** Stops every running component in reverse start order; returns the names that failed to stop cleanly. */
  async stop(): Promise<string[]> {
    const running = this.ordered.filter((c) => this.states.get(c.name) === 'running').reverse();
    return this.stopAll(running);
  }

  state(name: string): ComponentState | undefined {
    return this.states.get(name);
  }

  report(): Record<string, ComponentReport> {
    const out: Record<string, ComponentReport> = {};
    for (const component of this.ordered) {
      const state = this.states.get(component.name) ?? 'stopped';
      out[component.name] = { ...this.healthOf(component, state), state };
    }
    return out;
  }

  private healthOf(component: Component, state: ComponentState): ComponentHealth {
    if (state !== 'running') return { status: 'down', detail: state };
    if (!component.health) return { status: 'up' };
    try {
      return component.health();
    } catch (err) {
      return { status: 'down', detail: `health check threw: ${describeError(err)}` };
    }
  }

  private async stopAll(components: readonly Component[]): Promise<string[]> {
    const failed: string[] = [];
    for (const component of components) {
      this.states.set(component.name, 'stopping');
      try {
        await withTimeout(component.stop(), this.stopTimeoutMs, component.name);
        this.states.set(component.name, 'stopped');
      } catch (err) {
        this.states.set(component.name, 'failed');
        failed.push(component.name);
        this.log.error({ component: component.name, err }, 'component did not stop cleanly');
      }
    }
    return failed;
  }
}

/** Topological order that keeps registration order among independent components. */
export function dependencyOrder(components: readonly Component[]): Component[] {
  const byName = new Map<string, Component>();
  for (const c of components) {
    if (byName.has(c.name)) {
      throw new EdgeError(ErrorCode.LifecycleDuplicateComponent, `two components are named "${c.name}"`);
    }
    byName.set(c.name, c);
  }
  for (const c of components) {
    for (const dep of c.dependsOn ?? []) {
      if (!byName.has(dep)) {
        throw new EdgeError(ErrorCode.LifecycleUnknownDependency, `${c.name} depends on unknown component "${dep}"`);
      }
    }
  }
  const ordered: Component[] = [];
  const mark = new Map<string, 'visiting' | 'done'>();
  const visit = (c: Component, path: string[]): void => {
    const m = mark.get(c.name);
    if (m === 'done') return;
    if (m === 'visiting') {
      const cycle = [...path.slice(path.indexOf(c.name)), c.name].join(' -> ');
      throw new EdgeError(ErrorCode.LifecycleDependencyCycle, `components depend on each other: ${cycle}`);
    }
    mark.set(c.name, 'visiting');
    for (const dep of c.dependsOn ?? []) visit(byName.get(dep)!, [...path, c.name]);
    mark.set(c.name, 'done');
    ordered.push(c);
  };
  for (const c of components) visit(c, []);
  return ordered;
}

async function withTimeout(promise: Promise<void>, ms: number, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new EdgeError(ErrorCode.LifecycleStopTimeout, `${name} did not stop within ${ms} ms`)),
      ms,
    );
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
