import {
  jwtSvidSchema,
  renewSchema,
  type JwtSvidRequest,
  type JwtSvidResponse,
  type RenewRequest,
  type RenewResponse,
} from '@libs/contracts/agent-api';
import { ApiError } from '@libs/contracts/api-error';
import { bodyChecker } from '@libs/contracts/request-body';
import type { AgentWriteResult, AuditEventName } from '@libs/persistence';
import {
  BACKDATE_SECONDS,
  CsrRejected,
  newSvidSerial,
  parseCsr,
  SvidRejected,
  type ParsedCsr,
  type VerifiedSvid,
  type VerifiedSvidCache,
} from '@libs/pki';
import type {
  AuditLog,
  Clock,
  JwtSvidSigner,
  PolicySource,
  RenewalObserver,
  RenewalWrites,
  RequestContext,
  TrustAnchors,
  X509Issuer,
} from './ports';
import {
  JWT_SVID_AUDIENCE,
  MAX_IAT_SKEW_SECONDS,
  PopRejected,
  RENEW_AUDIENCE,
  verifyProofOfPossession,
  type VerifiedPop,
} from './proof-of-possession';

const checkRenew = bodyChecker<RenewRequest>(renewSchema);
const checkJwtSvid = bodyChecker<JwtSvidRequest>(jwtSvidSchema);

export interface RenewalPorts {
  /** the trust domain's time: the keys' clock */
  clock: Clock;
  trustAnchors: TrustAnchors;
  /** chains verified before: a JWT-SVID request presents the same SVID again and again */
  verifiedSvids: VerifiedSvidCache;
  issuer: X509Issuer;
  jwtSigner: JwtSvidSigner;
  writes: RenewalWrites;
  audit: AuditLog;
  activeConfig: PolicySource;
  observer: RenewalObserver;
}

/** The SVID of a request, verified against the bundle, with its proof. */
interface Proven {
  svid: VerifiedSvid;
  pop: VerifiedPop;
}

/**
 * What an attested agent does with its current X.509-SVID (`api.md`): renew
 * it, or trade it for a JWT-SVID. The certificate is the credential and the
 * JWS proves its key is at hand; the agent's row decides whether it may.
 */
export class Renewal {
  constructor(private readonly ports: RenewalPorts) {}

  async renew(body: unknown, request: RequestContext): Promise<RenewResponse> {
    const { certChain, csr, pop } = checkRenew(body);
    const now = this.ports.clock.now();
    const subject = await parseCsr(csr).catch((error: unknown) => {
      if (error instanceof CsrRejected)
        throw new ApiError('invalid_request', error.message, [{ path: '/csr', message: error.message }]);
      throw error;
    });
    const { svid, pop: proof } = await this.prove('renew', certChain, pop, now, request, subject);
    // One round trip: the write itself reads the agent's status and policy,
    // so the new SVID's serial and expiry are recorded before it is signed.
    // The serial is chosen here and the certificate signed with it below.
    // The expiry is a guess: the policy's svidTtl decides it, and the
    // presented SVID got that same svidTtl unless the policy changed since
    // (or a CA's notAfter capped either one); a wrong guess costs one more
    // statement after the write.
    const serialHex = newSvidSerial();
    const presentedTtl = lifetimeOf(svid);
    const guessedExpiry = this.ports.issuer.svidNotAfter(now, presentedTtl);
    const written = await this.ports.writes.recordRenewal({
      spiffeId: svid.spiffeId,
      serial: svid.serialHex,
      jti: proof.jti,
      jtiExpiresAt: jtiExpiry(proof),
      newSerial: serialHex,
      newExpiresAt: guessedExpiry,
      sourceIp: request.sourceIp,
      requestId: request.requestId,
    });
    // A banned or evicted agent, a stale SVID and a replayed jti were refused and audited by the write.
    this.refuseUnlessRecorded(written);
    // The success is audited before the certificate exists. Signing cannot
    // fail here but by a server bug: the SVID verified against this trust
    // domain's bundle, parseCsr applied the key policy, svidNotAfter checked
    // the CA's validity at `now`, and the TTL is a policy's or the guess's.
    const issued = this.ports.issuer.issueX509Svid({
      spiffeId: svid.spiffeId,
      subjectPublicKey: subject.publicKey,
      ttlSeconds: this.ttlFor(written.policy, presentedTtl),
      serialHex,
      now,
    });
    // Compared with the certificate itself, signed by the CA that signs now
    // (it may have rotated during the write), the row's expiry is exactly
    // the certificate's notAfter.
    if (issued.notAfter.getTime() !== guessedExpiry.getTime())
      await this.ports.writes.correctSvidExpiry(written.agentId!, serialHex, issued.notAfter);
    this.ports.observer.renewed({ agentId: written.agentId, serial: issued.serialHex, requestId: request.requestId });
    return {
      spiffeId: svid.spiffeId,
      svid: { certChain: issued.chainPem, expiresAt: issued.notAfter.toISOString() },
      bundle: this.ports.issuer.bundlePem(),
    };
  }

  async jwtSvid(body: unknown, request: RequestContext): Promise<JwtSvidResponse> {
    const { certChain, pop, audience } = checkJwtSvid(body);
    const now = this.ports.clock.now();
    const { svid, pop: proof } = await this.prove('jwt_svid', certChain, pop, now, request);
    // Signed before the write, so an audited success always had a token.
    const { token, expiresAt } = await this.ports.jwtSigner.sign({ sub: svid.spiffeId, aud: audience }, now);
    const written = await this.ports.writes.recordJwtSvid({
      spiffeId: svid.spiffeId,
      serial: svid.serialHex,
      jti: proof.jti,
      jtiExpiresAt: jtiExpiry(proof),
      audience,
      sourceIp: request.sourceIp,
      requestId: request.requestId,
    });
    this.refuseUnlessRecorded(written);
    this.ports.observer.jwtSvidIssued({
      agentId: written.agentId,
      spiffeId: svid.spiffeId,
      audience,
      requestId: request.requestId,
    });
    return { token, expiresAt: expiresAt.toISOString() };
  }

  /** The chain against the bundle, then the JWS against the chain's key; any failure is a 401, audited. */
  private async prove(
    event: AuditEventName,
    certChain: string,
    pop: string,
    now: Date,
    request: RequestContext,
    csr?: ParsedCsr,
  ): Promise<Proven> {
    let svid: VerifiedSvid | undefined;
    try {
      const checked = this.ports.verifiedSvids.verify(certChain, this.ports.trustAnchors.bundlePems(), now);
      svid = checked.svid;
      const proof = await verifyProofOfPossession(pop, {
        publicKey: svid.publicKey,
        audience: event === 'renew' ? RENEW_AUDIENCE : JWT_SVID_AUDIENCE,
        now,
        ...(csr && { csrDer: csr.der }),
      });
      // A JWT-SVID's chain comes back with the next token; a renewal's is spent.
      if (event === 'jwt_svid') checked.remember();
      return { svid, pop: proof };
    } catch (error) {
      if (!(error instanceof SvidRejected) && !(error instanceof PopRejected)) throw error;
      await this.ports.audit.append({
        event,
        outcome: 'failure',
        code: 'invalid_proof_of_possession',
        reason: error.message,
        ...(svid && { spiffeId: svid.spiffeId }),
        sourceIp: request.sourceIp,
        requestId: request.requestId,
      });
      throw new ApiError('invalid_proof_of_possession', error.message);
    }
  }

  /** The write audited its refusal already; say why. */
  private refuseUnlessRecorded(written: AgentWriteResult): void {
    switch (written.verdict) {
      case 'ok':
        return;
      case 'agent_banned':
      case 'agent_evicted':
        throw statusError(written.verdict);
      case 'replayed':
        throw new ApiError(
          'invalid_proof_of_possession',
          'pop: jti was already used; sign a new proof for every request',
        );
      case 'not_current':
        throw new ApiError(
          'invalid_proof_of_possession',
          "svid: the certificate is not the agent's current SVID (it was renewed or superseded); log in again",
        );
    }
  }

  /** The agent's policy's svidTtl now; if the policy is gone, the lifetime of the SVID presented. */
  private ttlFor(policyName: string | null, presentedTtl: number): number {
    const policy =
      policyName === null ? undefined : this.ports.activeConfig.policies.policies.find((p) => p.name === policyName);
    return policy?.svidTtlSeconds ?? presentedTtl;
  }
}

/** The TTL the presented SVID was issued with: its validity less the backdating, at least a minute. */
function lifetimeOf(svid: VerifiedSvid): number {
  return Math.max(60, Math.round((svid.notAfter.getTime() - svid.notBefore.getTime()) / 1000) - BACKDATE_SECONDS);
}

function statusError(code: 'agent_banned' | 'agent_evicted'): ApiError {
  return code === 'agent_banned'
    ? new ApiError('agent_banned', 'this agent is banned; an operator must unban it and the node must log in again')
    : new ApiError('agent_evicted', 'this agent was evicted; the node must log in again');
}

/** After iat + the allowed skew the proof is refused anyway, so its jti need not be kept longer. */
function jtiExpiry(pop: VerifiedPop): Date {
  return new Date((pop.iat + MAX_IAT_SKEW_SECONDS + 1) * 1000);
}
