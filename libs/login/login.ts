import { randomBytes, randomUUID } from 'node:crypto';
import type {
  CompleteLoginRequest,
  CompleteLoginResponse,
  StartLoginRequest,
  StartLoginResponse,
} from '@libs/contracts/agent-api';
import { completeLoginSchema, startLoginSchema } from '@libs/contracts/agent-api';
import { ApiError } from '@libs/contracts/api-error';
import type { ProblemCode } from '@libs/contracts/problem';
import { bodyChecker } from '@libs/contracts/request-body';
import { ProofMalformed, type AttestorRegistry } from '@libs/attestors/registry';
import type { LoginWriteResult } from '@libs/persistence';
import { CsrRejected, parseCsr } from '@libs/pki';
import { spiffeIdFor, type CompiledPolicy } from '@libs/policy';
import { CompletedLogins } from './completed-logins';
import type { LoginIdCodec, LoginState } from './login-id';
import { canReattest, decide, type LoginDecision } from './policy-decision';
import type { AuditLog, Clock, LoginObserver, LoginWrites, PolicySource, RequestContext, X509Issuer } from './ports';

const checkStart = bodyChecker<StartLoginRequest>(startLoginSchema);
const checkComplete = bodyChecker<CompleteLoginRequest>(completeLoginSchema);

const NO_POLICY = 'no cluster policy authorizes the provided attestors';

export interface LoginPorts {
  registry: AttestorRegistry;
  activeConfig: PolicySource;
  loginIds: LoginIdCodec;
  issuer: X509Issuer;
  writes: LoginWrites;
  audit: AuditLog;
  clock: Clock;
  observer: LoginObserver;
  trustDomain: string;
}

/** What a completion learnt before it ended: the policy chosen or denying, and whether its end is written. */
interface Completion {
  policy?: string;
  /** the audit event is written and the login ID used up */
  recorded?: boolean;
}

/** The login protocol (`api.md`): start, then complete with proofs and a CSR. */
export class Login {
  private readonly completed = new CompletedLogins();

  constructor(private readonly ports: LoginPorts) {}

  /** A login refused at its start is reported as such; one that starts is reported when it completes. */
  async start(body: unknown, request: RequestContext): Promise<StartLoginResponse> {
    try {
      return await this.startLogin(body, request);
    } catch (error) {
      this.ports.observer.startRefused(this.problemCodeOf(error));
      throw error;
    }
  }

  /** Reports every completion, with how long it took. */
  async complete(loginId: string, body: unknown, request: RequestContext): Promise<CompleteLoginResponse> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    const completion: Completion = {};
    try {
      const response = await this.completeLogin(loginId, body, request, completion);
      this.ports.observer.completed({ ok: true, policy: response.policy, seconds: seconds() });
      return response;
    } catch (error) {
      this.ports.observer.completed({
        ok: false,
        code: this.problemCodeOf(error),
        policy: completion.policy,
        seconds: seconds(),
      });
      throw error;
    }
  }

  private async startLogin(body: unknown, request: RequestContext): Promise<StartLoginResponse> {
    const { registry } = this.ports;
    const { providedMethods } = checkStart(body);
    const unknown = providedMethods.filter((m) => !registry.has(m));
    if (unknown.length > 0) {
      throw new ApiError(
        'invalid_request',
        `unknown attestor ${unknown.join(', ')}; known: ${registry.types.join(', ')}`,
        [{ path: '/providedMethods', message: `unknown attestor ${unknown.join(', ')}` }],
      );
    }
    const candidates = this.ports.activeConfig.policies.candidatesFor(providedMethods);
    if (candidates.length === 0) await this.refuseNoPolicy(providedMethods, request);
    const challenges: Record<string, string> = {};
    for (const method of providedMethods) {
      if (registry.get(method).bindsChallenge) challenges[method] = randomBytes(32).toString('base64url');
    }
    const { loginId, state } = this.ports.loginIds.issue(providedMethods, challenges, this.ports.clock.now());
    this.ports.observer.started({
      loginId: state.nonce,
      providedMethods,
      candidatePolicies: candidates.map((p) => p.name),
      requestId: request.requestId,
    });
    return {
      loginId,
      expiresAt: state.expiresAt.toISOString(),
      requiredAttestors: unionOfRequired(candidates),
      challenges,
    };
  }

  /**
   * Once a genuine login ID is opened, the completion is final whatever
   * happens next: a malformed body, a refused proof, a bug or a failed
   * write is audited and uses the login ID up, so one login ID never serves
   * two attempts and no failure goes unrecorded.
   */
  private async completeLogin(
    loginId: string,
    body: unknown,
    request: RequestContext,
    completion: Completion,
  ): Promise<CompleteLoginResponse> {
    const now = this.ports.clock.now();
    const login = this.ports.loginIds.open(loginId, now);
    // like a forged login ID: no verification, no audit row
    if (!this.completed.claim(login, now))
      throw new ApiError('login_not_found', 'login ID is unknown, forged or already completed');
    try {
      return await this.completeOpened(login, body, request, completion, now);
    } catch (error) {
      if (!completion.recorded) await this.recordFailure(error, login, request);
      throw error;
    }
  }

  private async completeOpened(
    login: LoginState,
    body: unknown,
    request: RequestContext,
    completion: Completion,
    now: Date,
  ): Promise<CompleteLoginResponse> {
    const { observer, issuer } = this.ports;
    const { proofs, csr } = checkComplete(body);
    const candidates = this.ports.activeConfig.policies.candidatesFor(login.providedMethods);
    if (candidates.length === 0) {
      observer.noPolicy(login.providedMethods, request.requestId);
      throw new ApiError('no_policy_for_methods', NO_POLICY);
    }
    this.checkProofsPresent(proofs, login, candidates);
    const subject = await parseCsr(csr).catch((error: unknown) => {
      if (error instanceof CsrRejected)
        throw new ApiError('invalid_request', error.message, [{ path: '/csr', message: error.message }]);
      throw error;
    });

    const onProof = (attestorType: string, outcome: 'success' | 'failed') =>
      observer.proofVerified(attestorType, outcome);
    const decision = await decide(candidates, proofs, this.ports.registry, {
      challenges: login.challenges,
      now,
      onProof,
    });
    if (decision.kind === 'policy_denied') completion.policy = decision.policy;
    if (decision.kind !== 'authorized') return this.refuse(decision, login, request, completion);

    const { policy, attributes } = decision;
    completion.policy = policy.name;
    const agentId = randomUUID();
    const path = policy.renderSpiffeIdPath(attributes, agentId);
    if (!path.ok) {
      // names an attribute of the policy's attestors and this node's own value: the agent may read it
      const reason = `policy ${policy.name}: ${path.reason}`;
      return this.refuse(
        { kind: 'policy_denied', policy: policy.name, reason, agentReason: reason, attributes },
        login,
        request,
        completion,
      );
    }
    const agentSpiffeId = spiffeIdFor(this.ports.trustDomain, path.path);
    const svid = issuer.issueX509Svid({
      spiffeId: agentSpiffeId,
      subjectPublicKey: subject.publicKey,
      ttlSeconds: policy.svidTtlSeconds,
      now,
    });
    const selectors = decision.proofs.flatMap((p) => p.selectors);
    const tofuKeys = decision.proofs.flatMap((p) => (p.tofuKey ? [p.tofuKey] : []));
    const joinTokenId = decision.proofs.find((p) => p.consume)?.consume?.joinTokenId;
    const written = await this.ports.writes.write({
      loginNonce: login.nonce,
      loginExpiresAt: login.expiresAt,
      agentId,
      spiffeId: agentSpiffeId,
      policy: policy.name,
      attestorTypes: policy.requiredTypes.slice(),
      attributes,
      selectors,
      tofuKeys,
      tofu: policy.tofu,
      ...(joinTokenId !== undefined && { joinTokenId }),
      svidSerial: svid.serialHex,
      svidExpiresAt: svid.notAfter,
      sourceIp: request.sourceIp,
      requestId: request.requestId,
    });
    completion.recorded = true;
    if (written.outcome === 'contended') return this.refuseContended(login, policy.name, attributes, request);
    if (written.outcome !== 'recorded')
      this.refuseConflict(written, { spiffeId: agentSpiffeId, policy: policy.name }, request);
    observer.authorized({
      agentId,
      spiffeId: agentSpiffeId,
      policy: policy.name,
      attributes,
      requestId: request.requestId,
    });
    return {
      agentId,
      spiffeId: agentSpiffeId,
      policy: policy.name,
      attributes,
      selectors,
      svid: { certChain: svid.chainPem, expiresAt: svid.notAfter.toISOString() },
      bundle: issuer.bundlePem(),
      reattestable: canReattest(policy, decision.proofs),
    };
  }

  /** The login write found the login ID used, the token spent, the node known, or its SPIFFE ID taken. */
  private refuseConflict(
    written: Exclude<LoginWriteResult, { outcome: 'recorded' | 'contended' }>,
    wanted: { spiffeId: string; policy: string },
    request: RequestContext,
  ): never {
    switch (written.outcome) {
      case 'login_not_found':
        throw new ApiError('login_not_found', 'login ID is unknown, forged or already completed');
      case 'join_token_used':
        throw new ApiError('attestation_failed', 'join_token: token is unknown, expired or already used');
      case 'agent_banned':
        throw new ApiError('agent_banned', 'this node is banned; an operator must unban it');
      case 'node_already_attested': {
        const attestor = written.tofuKey.split('/')[0]!;
        this.ports.observer.tofuConflict({
          attestor,
          tofuKey: written.tofuKey,
          agentId: written.holderId,
          requestId: request.requestId,
        });
        // the holder's UUID is in the observer's warning and the audit event, not for the caller
        throw new ApiError('node_already_attested', 'this node already attested; an operator must evict it first');
      }
      case 'spiffe_id_in_use':
        // another node rendered the same SPIFFE ID: a template without a node-unique attribute, or a node claiming another's name
        this.ports.observer.spiffeIdInUse({
          spiffeId: wanted.spiffeId,
          policy: wanted.policy,
          agentId: written.holderId,
          requestId: request.requestId,
        });
        throw new ApiError(
          'spiffe_id_in_use',
          `${wanted.spiffeId} is held by another active agent; an operator must evict that agent first`,
        );
    }
  }

  /**
   * The login write lost every round to other logins of the same node
   * (tofu off; see recordLogin): nothing was written, so the refusal is
   * audited and the login ID used up here, and the agent retries later.
   */
  private async refuseContended(
    login: LoginState,
    policy: string,
    attributes: Record<string, string[]>,
    request: RequestContext,
  ): Promise<never> {
    const reason = 'other logins of this node were being recorded at the same time; retry';
    this.ports.observer.contended({ policy, loginId: login.nonce, requestId: request.requestId });
    const fresh = await this.ports.writes.recordFailure({
      loginNonce: login.nonce,
      loginExpiresAt: login.expiresAt,
      code: 'unavailable',
      reason,
      attestors: login.providedMethods,
      policy,
      attributes,
      sourceIp: request.sourceIp,
      requestId: request.requestId,
    });
    if (!fresh) throw new ApiError('login_not_found', 'login ID is unknown, forged or already completed');
    throw new ApiError('unavailable', reason);
  }

  /** Every proof the candidates need must be there, and none that was not announced. */
  private checkProofsPresent(
    proofs: Record<string, unknown>,
    login: LoginState,
    candidates: readonly CompiledPolicy[],
  ): void {
    const errors: { path: string; message: string }[] = [];
    for (const type of Object.keys(proofs)) {
      if (!login.providedMethods.includes(type))
        errors.push({ path: `/proofs/${type}`, message: 'was not among providedMethods at login start' });
    }
    for (const type of unionOfRequired(candidates)) {
      if (!(type in proofs)) errors.push({ path: `/proofs/${type}`, message: 'proof is required' });
    }
    if (errors.length > 0)
      throw new ApiError('invalid_request', errors.map((e) => `${e.path} ${e.message}`).join('; '), errors);
    try {
      for (const [type, proof] of Object.entries(proofs)) this.ports.registry.checkProofShape(type, proof);
    } catch (error) {
      if (error instanceof ProofMalformed) throw new ApiError('invalid_request', error.message, error.errors);
      throw error;
    }
  }

  private async refuseNoPolicy(providedMethods: string[], request: RequestContext): Promise<never> {
    this.ports.observer.noPolicy(providedMethods, request.requestId);
    await this.ports.audit.append({
      event: 'login',
      outcome: 'failure',
      code: 'no_policy_for_methods',
      reason: NO_POLICY,
      attestors: providedMethods,
      sourceIp: request.sourceIp,
      requestId: request.requestId,
    });
    throw new ApiError('no_policy_for_methods', NO_POLICY);
  }

  /** A failed completion is audited and uses up its login ID, in one statement. */
  private async refuse(
    decision: Exclude<LoginDecision, { kind: 'authorized' }>,
    login: LoginState,
    request: RequestContext,
    completion: Completion,
  ): Promise<never> {
    const attestor = decision.kind === 'policy_denied' ? `policy:${decision.policy}` : decision.attestor;
    this.ports.observer.refused({
      attestor,
      reason: decision.reason,
      loginId: login.nonce,
      requestId: request.requestId,
    });
    const fresh = await this.ports.writes.recordFailure({
      loginNonce: login.nonce,
      loginExpiresAt: login.expiresAt,
      code: decision.kind,
      reason: decision.reason,
      attestors: login.providedMethods,
      ...(decision.kind === 'policy_denied' && { policy: decision.policy, attributes: decision.attributes }),
      sourceIp: request.sourceIp,
      requestId: request.requestId,
    });
    completion.recorded = true;
    if (!fresh) throw new ApiError('login_not_found', 'login ID is unknown, forged or already completed');
    throw new ApiError(decision.kind, decision.agentReason);
  }

  /** The problem code the server's problem filter will answer with. */
  private problemCodeOf(error: unknown): ProblemCode {
    if (error instanceof ApiError) return error.code;
    return this.ports.writes.isUnavailable(error) ? 'unavailable' : 'internal_error';
  }

  /** A completion that failed before writing its end: audit it and use its login ID up. */
  private async recordFailure(error: unknown, login: LoginState, request: RequestContext): Promise<void> {
    const code = this.problemCodeOf(error);
    // a bug's message stays in the server log (the problem filter logs it), out of the audit log
    const reason = error instanceof ApiError ? error.detail : `internal error; request id ${request.requestId}`;
    try {
      await this.ports.writes.recordFailure({
        loginNonce: login.nonce,
        loginExpiresAt: login.expiresAt,
        code,
        reason,
        attestors: login.providedMethods,
        sourceIp: request.sourceIp,
        requestId: request.requestId,
      });
    } catch (writeError) {
      this.ports.observer.failureNotRecorded(writeError, code, request.requestId);
    }
  }
}

function unionOfRequired(policies: readonly CompiledPolicy[]): string[] {
  return [...new Set(policies.flatMap((p) => p.requiredTypes))];
}
