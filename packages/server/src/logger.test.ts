import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

describe('logger (pino)', () => {
  it('writes one JSON line per event with level, time and msg; redacts sensitive paths but keeps ids and keyKind', () => {
    const lines: string[] = [];
    const log = createLogger('info', (l) => lines.push(l));
    log.debug('hidden');
    log.info('graphql', {
      requestId: 'r1',
      shopId: 's1',
      keyId: 'k1',
      keyKind: 'secret',
      email: 'private.person@example.com',
      error: { message: 'x', firstName: 'Privatus' },
      headers: { authorization: 'Bearer sk_live_x', 'x-customer-token': 'ct_abc' },
    });
    expect(lines).toHaveLength(1);
    const l = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(l).toMatchObject({
      level: 'info',
      msg: 'graphql',
      requestId: 'r1',
      shopId: 's1',
      keyId: 'k1',
      keyKind: 'secret',
      email: '[redacted]',
    });
    expect(typeof l.time).toBe('string');
    expect(lines[0]).not.toContain('private.person');
    expect(lines[0]).not.toContain('Privatus');
    expect(lines[0]).not.toContain('sk_live_x');
    expect(lines[0]).not.toContain('ct_abc');
  });
});
