import type { Logger } from 'pino';
import type { LoginObserver } from '@libs/login';
import { INSTRUMENTS } from '../telemetry/instruments';
import type { Metrics } from '../telemetry/metrics';

/** A login's events as the server's metrics (`attestd.logins`, `attestd.login.duration`, ...) and log lines. */
export function loginObserver(metrics: Metrics, logger: Logger): LoginObserver {
  return {
    startRefused: (code) => metrics.count(INSTRUMENTS.logins, { outcome: 'failure', code, policy: 'none' }),
    started: (login) => logger.info(login, 'Login started with multi-attestation support'),
    // the refusal's own words, written out: docs/reference/telemetry.md lists each message, and its test reads them here
    noPolicy: (providedMethods, requestId) =>
      logger.warn({ providedMethods, requestId }, 'no cluster policy authorizes the provided attestors'),
    proofVerified: (attestorType, outcome) =>
      metrics.count(INSTRUMENTS.attestationProofs, { attestor_type: attestorType, outcome }),
    refused: (refusal) => logger.warn(refusal, 'Attestor rejected proof, policy failed'),
    authorized: ({ agentId, spiffeId, policy, attributes, requestId }) => {
      metrics.count(INSTRUMENTS.svidsIssued, { kind: 'x509', reason: 'login' });
      // the attribute list is built only when it will be written (the bench, and quiet deployments, log at warn)
      if (logger.isLevelEnabled('info')) {
        logger.info(
          { agentId, spiffeId, policy, agentAttestationAttributes: describeAttributes(attributes), requestId },
          'Authorization received and verified',
        );
      }
    },
    tofuConflict: (conflict) => {
      metrics.count(INSTRUMENTS.tofuConflicts, { attestor_type: conflict.attestor });
      logger.warn(conflict, 'Node already attested (TOFU); possible security incident');
    },
    spiffeIdInUse: (conflict) => logger.warn(conflict, 'login: SPIFFE ID held by another active agent; refused'),
    contended: (login) => logger.warn(login, 'login: lost to concurrent logins of the same node; refused'),
    failureNotRecorded: (error, code, requestId) =>
      logger.error({ err: error, code, requestId }, 'login: cannot record a failed completion'),
    completed: (outcome) => {
      if (outcome.ok) {
        metrics.count(INSTRUMENTS.logins, { outcome: 'success', code: 'ok', policy: outcome.policy });
        metrics.record(INSTRUMENTS.loginDuration, outcome.seconds, { outcome: 'success' });
      } else {
        metrics.count(INSTRUMENTS.logins, { outcome: 'failure', code: outcome.code, policy: outcome.policy ?? 'none' });
        metrics.record(INSTRUMENTS.loginDuration, outcome.seconds, { outcome: 'failure' });
      }
    },
  };
}

/** `aws_iid:aws_iid.account.id="123456789012"`, as the log table shows. */
function describeAttributes(attributes: Record<string, string[]>): string[] {
  return Object.entries(attributes).flatMap(([name, values]) =>
    values.map((v) => `${name.split('.')[0]}:${name}=${JSON.stringify(v)}`),
  );
}
