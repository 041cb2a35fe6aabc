/**
 * Drill benchmark (not a test): an 8-hour credential-compromise scenario —
 * 200 injected alerts, an approver who never answers (escalations), gates
 * waiting hours, an adversary trying every 10 minutes, IAM throttling one call in twenty for the
 * first two hours — run on the time-skipping server against the simulated
 * world, then prints wall time, virtual time covered and events per second.
 *
 *   npm run bench:drill [-- --alerts 200 --hours 8]
 *
 * Target on this 2-core machine: the 8 hours in <= 10 s of wall time.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { loadInjects, parseScenario } from '../src/drills/load.ts';
import { drillPolicies } from '../src/drills/policies.ts';
import { runDrill } from '../src/drills/run.ts';
import { ensureTemporalTestServer } from '../src/sandbox/tools.ts';
import { installRuntime } from '../src/worker/runtime.ts';

const { values } = parseArgs({ options: { alerts: { type: 'string', default: '200' }, hours: { type: 'string', default: '8' } } });
const alerts = Number(values.alerts);
const hours = Number(values.hours);
const every = Math.max(1, Math.floor((hours * 60 - 1) / alerts));

const text = stringify({
  version: 1,
  scenario: { name: 'bench-drill', title: 'Drill benchmark: a long incident, an alert storm, slow approvers', runbook: 'credential-compromise' },
  horizon: `${hours}h`,
  world: {
    aws: {
      accountId: '210987654321',
      users: [{ name: 'ci-deployer', accessKeys: [{ id: 'AKIADRILLBENCHKEY001' }], loginProfile: true, policies: ['arn:aws:iam::aws:policy/PowerUserAccess'] }],
    },
  },
  injects: [
    {
      at: '0s',
      repeat: alerts,
      every: `${every}m`,
      source: 'generic',
      alert: { id: 'bench', severity: 'high', rule: 'aws-access-key-in-public-repo', summary: 'AWS access key AKIADRILLBENCHKEY001 in a public commit', entities: { principal: 'ci-deployer', accessKey: 'AKIADRILLBENCHKEY001' } },
    },
  ],
  adversary: [
    { at: '1m', every: '10m', name: 'calls AWS with the key', action: { kind: 'iam:use-access-key', accessKey: 'AKIADRILLBENCHKEY001' } },
    { at: '20m', every: '30m', name: 'creates a backdoor key', action: { kind: 'iam:create-access-key', user: 'ci-deployer' } },
  ],
  responders: [
    { id: 'cli:alice', unreachable: true },
    { id: 'cli:bob', decide: [{ step: 'deactivate-access-key', decision: 'approve', after: '5m', onEscalation: true }, { step: 'delete-login-profile', decision: 'approve', after: '3h' }, { step: '*', decision: 'approve', after: '1h' }] },
    { id: 'cli:carol', decide: [{ step: 'delete-login-profile', decision: 'approve', after: '5h' }] },
  ],
  faults: [{ service: 'iam', operation: '*', error: 'throttled', rate: 0.05, from: '0s', until: '2h' }],
  expect: [{ step: 'deactivate-access-key' }, { world: { kind: 'login-profile-deleted', user: 'ci-deployer' }, negate: true }],
});

const scenario = parseScenario(text, 'bench-drill.yaml');
const loaded = { file: 'bench-drill.yaml', scenario, injects: await loadInjects(scenario, '.') };
installRuntime('silent', pino({ level: 'silent' }));
const testServerPath = await ensureTemporalTestServer(() => undefined);
const policies = await drillPolicies({ scenario });
const load = loadavg().map((l) => l.toFixed(2)).join(' ');
const card = await runDrill({ loaded, ...policies, testServerPath });

const wallS = card.wallMs / 1000;
console.log(`drill benchmark: ${alerts} alerts over ${hours} h of virtual time, ${card.adversary.length} adversary moves, ${card.metrics.gates.length} gates (${card.metrics.gates.reduce((n, g) => n + g.escalations, 0)} escalations), ${card.faultsInjected} faults injected`);
console.log(`  wall time            ${wallS.toFixed(1)} s (target <= 10 s)`);
console.log(`  virtual time         ${(card.virtualMs / 3_600_000).toFixed(2)} h (${Math.round(card.virtualMs / card.wallMs)}x real time)`);
console.log(`  events               ${card.events} (${(card.events / wallS).toFixed(0)} per s of wall time)`);
console.log(`  timeline events      ${card.timeline.length}`);
const repeated = card.timeline.filter((e) => e.type === 'alert.repeated').at(-1);
console.log(`  alerts on incident   ${repeated?.type === 'alert.repeated' ? repeated.data.count : 1} of ${alerts}`);
console.log(`  scorecard            ${card.pass ? 'PASS' : 'FAIL'}${card.expectations.filter((e) => !e.met).map((e) => `; missed: ${e.text} (${e.detail})`).join('')}`);
console.log(`  load average before  ${load}`);

if (card.wallMs > 10_000) process.exitCode = 1;
