// Runs a PolicyStore over the folders given and prints, as JSON lines: every log line, then the
// readiness verdict and detail lines `armorwatch run` would serve. Started as another user by
// store.test.ts, so that files root could read are unreadable.
import { pino } from 'pino';
import { policyDetail, policyReadiness } from '../../src/cli/run.ts';
import { PolicyStore } from '../../src/policy/watch.ts';

const logs: unknown[] = [];
const logger = pino({ level: 'debug' }, { write: (s: string) => { logs.push(JSON.parse(s)); } });
const store = new PolicyStore({ paths: process.argv.slice(2), logger });
await store.start();
await store.close();
process.stdout.write(`${JSON.stringify({ logs, ready: policyReadiness(store.status()), detail: policyDetail(store.status()), status: store.status() })}\n`);
