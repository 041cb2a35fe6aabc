import { z } from 'zod';
import { parseDuration, principal } from '../runbooks/schema.ts';

/**
 * Every environment variable Firebreak reads, in one schema. Nothing else in the
 * code base reads `process.env` for configuration: processes call `getConfig()`.
 *
 * Keys are the variable names exactly as set in the environment, so that the
 * schema doubles as the documentation of what may be set (README, compose file).
 */

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:7233');

const port = z.coerce
  .number({ error: 'expected a TCP port number' })
  .int('expected a whole number')
  .min(1, 'expected a TCP port from 1 to 65535')
  .max(65535, 'expected a TCP port from 1 to 65535');

const optionalNonEmpty = z.string().min(1, 'expected a non-empty value when set').optional();

const roles = ['worker', 'intake', 'slack'] as const;

/** What `firebreak local` can simulate: a cluster, an AWS account, an OCI registry of demo images and their SBOMs. */
export const sandboxPartNames = ['kubernetes', 'aws', 'registry'] as const;
export type SandboxPart = (typeof sandboxPartNames)[number];

/** The alert sources intake serves, as they appear in variable names. */
export const intakeSourceVariables = ['FALCO', 'GUARDDUTY', 'ALERTMANAGER', 'GENERIC', 'INSPECTOR'] as const;
type IntakeSourceVariable = (typeof intakeSourceVariables)[number];

const intakeSecret = z.string().min(16, 'expected at least 16 characters (a random secret)').optional();

function intakeSourceKeys<S extends IntakeSourceVariable>(source: S) {
  return {
    [`FIREBREAK_INTAKE_${source}_AUTH`]: z.enum(['bearer', 'hmac']).optional(),
    [`FIREBREAK_INTAKE_${source}_TOKEN`]: intakeSecret,
    [`FIREBREAK_INTAKE_${source}_HMAC_SECRET`]: intakeSecret,
  } as Record<`FIREBREAK_INTAKE_${S}_AUTH`, z.ZodOptional<z.ZodEnum<{ bearer: 'bearer'; hmac: 'hmac' }>>> &
    Record<`FIREBREAK_INTAKE_${S}_TOKEN` | `FIREBREAK_INTAKE_${S}_HMAC_SECRET`, typeof intakeSecret>;
}
export type Role = (typeof roles)[number];

export const configSchema = z
  .object({
    /**
     * Temporal frontend. Processes default to 127.0.0.1:7233; `firebreak local`
     * starts an embedded dev server when this is unset.
     */
    TEMPORAL_ADDRESS: hostPort.optional(),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    FIREBREAK_TASK_QUEUE: z.string().min(1).default('firebreak'),
    FIREBREAK_ROLES: z
      .string()
      .default('worker')
      .transform((s, ctx) => {
        const list = s
          .split(',')
          .map((r) => r.trim())
          .filter((r) => r.length > 0);
        const unknown = list.filter((r) => !(roles as readonly string[]).includes(r));
        if (unknown.length > 0 || list.length === 0) {
          ctx.addIssue({
            code: 'custom',
            message: `expected a comma-separated list of ${roles.join(', ')}; got ${JSON.stringify(s)}`,
          });
          return z.NEVER;
        }
        return [...new Set(list)] as Role[];
      }),
    FIREBREAK_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    FIREBREAK_DATA_DIR: z.string().min(1).default('./data'),
    FIREBREAK_RUNBOOKS_DIR: z.string().min(1).default('./runbooks'),
    FIREBREAK_INTAKE_PORT: port.default(8080),
    FIREBREAK_SLACK_PORT: port.default(3000),
    /** Where `firebreak serve` serves Prometheus /metrics (every role, one endpoint per process); unset: no metrics endpoint. */
    FIREBREAK_METRICS_PORT: port.optional(),
    /** Where the tools cache lives (Temporal CLI, moto, kube-apiserver, etcd). */
    FIREBREAK_TOOLS_DIR: optionalNonEmpty,
    AWS_REGION: z
      .string()
      .regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, 'expected an AWS region such as eu-west-1')
      .default('us-east-1'),
    /** Overrides every AWS client's endpoint (moto in the local sandbox). */
    AWS_ENDPOINT_URL: z.url({ error: 'expected an http(s) URL' }).optional(),
    /** CloudTrail's endpoint, over AWS_ENDPOINT_URL (the AWS SDK's own service-specific variable); the sandbox's LookupEvents server. */
    AWS_ENDPOINT_URL_CLOUDTRAIL: z.url({ error: 'expected an http(s) URL' }).optional(),
    /** How far back the credential-compromise evidence reads CloudTrail, e.g. "24h", "7d" (LookupEvents keeps 90 days). */
    FIREBREAK_CLOUDTRAIL_LOOKBACK: z
      .string()
      .default('7d')
      .transform((text, ctx) => {
        const ms = parseDuration(text);
        if (ms === undefined || ms > 90 * 86_400_000) {
          ctx.addIssue({ code: 'custom', message: `expected a duration up to 90 days such as "24h" or "7d"; got ${JSON.stringify(text)}` });
          return z.NEVER;
        }
        return { text, ms };
      }),
    KUBECONFIG: optionalNonEmpty,
    /**
     * The supply-chain runbook's scope file (YAML, docs/runbooks.md): SBOM
     * sources, registries, CI checkouts, the secret inventory, signing keys.
     * Unset, the runbook searches only the worker's cluster.
     */
    FIREBREAK_SUPPLY_CHAIN_SCOPE: optionalNonEmpty,
    /**
     * Which systems `firebreak local` simulates with the sandbox servers:
     * `kubernetes`, `aws`, `registry`, any of them comma-separated, or `none`.
     * By default Kubernetes is simulated unless KUBECONFIG is set, AWS unless
     * AWS_ENDPOINT_URL is set, and the registry always (nothing real is read
     * from it): acting on a real account is an explicit choice.
     */
    FIREBREAK_SANDBOX: z
      .string()
      .transform((s, ctx) => {
        const parts = s.split(',').map((p) => p.trim()).filter((p) => p !== '');
        if (parts.length === 1 && parts[0] === 'none') return [] as SandboxPart[];
        const bad = parts.filter((p) => !(sandboxPartNames as readonly string[]).includes(p));
        if (bad.length > 0 || parts.length === 0) {
          ctx.addIssue({ code: 'custom', message: `expected a list of "kubernetes", "aws", "registry" (e.g. "kubernetes,aws"), or "none"; got ${JSON.stringify(s)}` });
          return z.NEVER;
        }
        return [...new Set(parts)] as SandboxPart[];
      })
      .optional(),
    /**
     * Named approver groups that policies refer to as `group:<name>`, as JSON:
     * {"security-oncall": ["U024BE7LH", "cli:alice"]}.
     */
    FIREBREAK_APPROVER_GROUPS: z
      .string()
      .transform((s, ctx) => {
        try {
          return JSON.parse(s) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'expected JSON such as {"security-oncall": ["U024BE7LH", "cli:alice"]}' });
          return z.NEVER;
        }
      })
      .pipe(z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected a group name in lower case'), z.array(principal).min(1)))
      .default({}),
    /**
     * Who the CLI acts as, recorded as `cli:<name>`. Approvals from the CLI are
     * made as this identity, never as a name typed on the command line.
     */
    FIREBREAK_OPERATOR: z
      .string()
      .regex(/^[A-Za-z0-9._@-]+$/, 'expected an operator name such as "alice" or "alice@example.com"')
      .optional(),
    /** Where sealed evidence is kept: `local` (a directory) or `s3` (a bucket with Object Lock). */
    FIREBREAK_EVIDENCE_BACKEND: z.enum(['local', 's3']).default('local'),
    /** The local evidence directory; `<FIREBREAK_DATA_DIR>/evidence` when unset. */
    FIREBREAK_EVIDENCE_DIR: optionalNonEmpty,
    /** The evidence bucket when FIREBREAK_EVIDENCE_BACKEND=s3; it must have Object Lock enabled. */
    FIREBREAK_EVIDENCE_S3_BUCKET: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name: 3 to 63 lower-case letters, digits, "." or "-"')
      .optional(),
    /** Prepended to every evidence key in the bucket, e.g. `firebreak/`. */
    FIREBREAK_EVIDENCE_S3_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/?$/, 'expected a key prefix such as "firebreak/" (no leading "/", no "//")')
      .optional(),
    /** How many days S3 evidence stays locked in COMPLIANCE mode: nobody can delete it sooner. */
    FIREBREAK_EVIDENCE_RETENTION_DAYS: z.coerce
      .number({ error: 'expected a number of days' })
      .int('expected a whole number of days')
      .min(1, 'expected at least 1 day')
      .max(36500, 'expected at most 36500 days (100 years)')
      .default(365),
    /** Where the intake HTTP server listens: loopback by default; 0.0.0.0 in a container. */
    FIREBREAK_INTAKE_HOST: z.string().min(1).default('127.0.0.1'),
    /** Where /metrics listens: loopback by default; 0.0.0.0 for a Prometheus in another pod. */
    FIREBREAK_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    /**
     * The cluster an alert about a pod, node or namespace is about when it names
     * none (Falco without k8s.cluster.name), so it joins the incident of an alert
     * that names the cluster (Falcosidekick, GuardDuty's EKS cluster name).
     * Unset: such alerts correlate only with others that name no cluster.
     */
    FIREBREAK_DEFAULT_CLUSTER: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'expected a cluster name as the alerts name it, e.g. "prod-eu" (EKS: up to 100 letters, digits, "-" or "_")')
      .optional(),
    /**
     * Per alert source (FALCO, GUARDDUTY, ALERTMANAGER, GENERIC, INSPECTOR): how its
     * webhook authenticates. `bearer` needs FIREBREAK_INTAKE_<SOURCE>_TOKEN;
     * `hmac` needs FIREBREAK_INTAKE_<SOURCE>_HMAC_SECRET (HMAC-SHA256 over
     * "<timestamp>.<raw body>", see docs/alerts.md). Unset: whichever of the two
     * is set. A source with neither answers every request 401.
     */
    ...intakeSourceKeys('FALCO'),
    ...intakeSourceKeys('GUARDDUTY'),
    ...intakeSourceKeys('ALERTMANAGER'),
    ...intakeSourceKeys('GENERIC'),
    ...intakeSourceKeys('INSPECTOR'),
    SLACK_MODE: z.enum(['http', 'socket']).optional(),
    SLACK_BOT_TOKEN: z
      .string()
      .regex(/^xoxb-/, 'expected a bot token starting with xoxb-')
      .optional(),
    SLACK_SIGNING_SECRET: optionalNonEmpty,
    SLACK_APP_TOKEN: z
      .string()
      .regex(/^xapp-/, 'expected an app-level token starting with xapp-')
      .optional(),
    /** The Slack Web API base URL; Slack's own (https://slack.com/api/) when unset. Tests point it at a local stub. */
    SLACK_API_URL: z.url({ error: 'expected an http(s) URL such as https://slack.com/api/' }).optional(),
    /** Where the Slack app's HTTP endpoint (/slack/events) listens: loopback by default; 0.0.0.0 in a container. */
    FIREBREAK_SLACK_HOST: z.string().min(1).default('127.0.0.1'),
    /**
     * Approver groups that are Slack user groups, as JSON: {"security-oncall": "S0614TZR7"}.
     * Their members (usergroups.users.list, cached for a minute) join the static
     * lists of FIREBREAK_APPROVER_GROUPS under the same name.
     */
    FIREBREAK_SLACK_USERGROUPS: z
      .string()
      .transform((s, ctx) => {
        try {
          return JSON.parse(s) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'expected JSON such as {"security-oncall": "S0614TZR7"}' });
          return z.NEVER;
        }
      })
      .pipe(
        z.record(
          z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected a group name in lower case'),
          z.string().regex(/^S[A-Z0-9]{2,}$/, 'expected a Slack user group id such as S0614TZR7'),
        ),
      )
      .default({}),
  })
  .superRefine((c, ctx) => {
    if (c.FIREBREAK_EVIDENCE_BACKEND === 's3' && c.FIREBREAK_EVIDENCE_S3_BUCKET === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['FIREBREAK_EVIDENCE_S3_BUCKET'],
        message: 'required when FIREBREAK_EVIDENCE_BACKEND=s3 (a bucket created with Object Lock enabled)',
      });
    }
    for (const source of intakeSourceVariables) {
      const mode = c[`FIREBREAK_INTAKE_${source}_AUTH`];
      const token = c[`FIREBREAK_INTAKE_${source}_TOKEN`];
      const secret = c[`FIREBREAK_INTAKE_${source}_HMAC_SECRET`];
      if (mode === 'bearer' && token === undefined) {
        ctx.addIssue({ code: 'custom', path: [`FIREBREAK_INTAKE_${source}_TOKEN`], message: `required when FIREBREAK_INTAKE_${source}_AUTH=bearer` });
      } else if (mode === 'hmac' && secret === undefined) {
        ctx.addIssue({ code: 'custom', path: [`FIREBREAK_INTAKE_${source}_HMAC_SECRET`], message: `required when FIREBREAK_INTAKE_${source}_AUTH=hmac` });
      } else if (mode === undefined && token !== undefined && secret !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [`FIREBREAK_INTAKE_${source}_AUTH`],
          message: `required when both FIREBREAK_INTAKE_${source}_TOKEN and FIREBREAK_INTAKE_${source}_HMAC_SECRET are set: "bearer" or "hmac"`,
        });
      }
    }
    if (c.SLACK_MODE === undefined) {
      if (Object.keys(c.FIREBREAK_SLACK_USERGROUPS).length > 0) {
        ctx.addIssue({ code: 'custom', path: ['FIREBREAK_SLACK_USERGROUPS'], message: 'needs Slack configured (SLACK_MODE and its tokens) to read the user groups' });
      }
      return;
    }
    const need: (keyof typeof c)[] =
      c.SLACK_MODE === 'http' ? ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET'] : ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN'];
    for (const key of need) {
      if (c[key] === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `required when SLACK_MODE=${c.SLACK_MODE}`,
        });
      }
    }
  });

export type Config = z.output<typeof configSchema>;

/** Variables whose values are secrets: never printed, logged or sent anywhere. */
export const secretVariables: ReadonlySet<string> = new Set([
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  ...intakeSourceVariables.flatMap((s) => [`FIREBREAK_INTAKE_${s}_TOKEN`, `FIREBREAK_INTAKE_${s}_HMAC_SECRET`]),
]);

/** The names of every variable the schema reads. */
export const configVariables: readonly string[] = Object.keys(configSchema.shape);
