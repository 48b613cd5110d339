import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';
import { periodic } from './periodic.ts';

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};

describe('periodic background passes', () => {
  it('a failing pass is logged and the next one still runs (no crash, no unhandled rejection)', async () => {
    const lines: string[] = [];
    let calls = 0;
    const task = periodic({ name: 'demo', intervalMs: 5, logger: createLogger('error', (l) => lines.push(l)) }, async () => {
      calls++;
      if (calls === 1) throw new Error('database away');
    });
    task.start();
    await until(() => calls >= 3);
    await task.stop();
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 'error', msg: 'demo pass failed', error: 'Error: database away' });
    expect(lines).toHaveLength(1);
  });

  it('never overlaps itself, and stop() waits for the running pass', async () => {
    let active = 0;
    let maxActive = 0;
    let finished = 0;
    let release: () => void = () => {};
    const task = periodic({ name: 'slow', intervalMs: 2, logger: createLogger('silent') }, async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise<void>((r) => {
        release = r;
      });
      active--;
      finished++;
    });
    task.start();
    await until(() => active === 1);
    await new Promise((r) => setTimeout(r, 30)); // many intervals pass while the first pass runs
    const stopped = task.stop();
    release();
    await stopped;
    expect({ maxActive, finished, active }).toEqual({ maxActive: 1, finished: 1, active: 0 });
  });

  it('an interval of 0 never runs', async () => {
    let calls = 0;
    const task = periodic({ name: 'off', intervalMs: 0, logger: createLogger('silent') }, async () => {
      calls++;
    });
    task.start();
    await new Promise((r) => setTimeout(r, 30));
    await task.stop();
    expect(calls).toBe(0);
  });
});
