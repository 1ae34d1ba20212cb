// Public API of the login lib: the login protocol, renewal and JWT-SVID
// presentation, and the pieces they are made of. Plain TypeScript behind
// the ports of ports.ts; the server wires them in its login and renewal modules.

export { Login, type LoginPorts } from './login';
export { LoginIdCodec, LOGIN_TTL_MS, type LoginState } from './login-id';
export { CompletedLogins, MAX_REMEMBERED_LOGINS } from './completed-logins';
export { decide, canReattest, type LoginDecision, type ProofObserver } from './policy-decision';
export { VerificationGate } from './verification-gate';
export { Renewal, type RenewalPorts } from './renewal';
export {
  verifyProofOfPossession,
  PopRejected,
  RENEW_AUDIENCE,
  JWT_SVID_AUDIENCE,
  type PopExpectations,
  type VerifiedPop,
} from './proof-of-possession';
export { replayLogins, replayLogin, replayRegistry, AGENT_UUID_PLACEHOLDER, type ReplayContext } from './login-replay';
export type * from './ports';
