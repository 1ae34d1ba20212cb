import { ProofRejected } from '../attestor';

/**
 * The reason for operators a verification was refused with (ProofRejected's
 * `reason`), or `accepted` when it verified; any other error (an outage, a
 * bug) propagates. The attestor specs compare it with the exact text, so a
 * reworded or misrouted refusal fails a test (rejection-reasons.spec.ts
 * checks that every reason is compared somewhere). A step that verifies
 * synchronously is passed as a function and answered synchronously.
 */
export function rejectionReason(verification: Promise<unknown>): Promise<string>;
export function rejectionReason(step: () => unknown): string;
export function rejectionReason(subject: Promise<unknown> | (() => unknown)): Promise<string> | string {
  if (typeof subject !== 'function') return subject.then(() => 'accepted', reasonOf);
  try {
    if (subject() instanceof Promise) throw new Error('rejectionReason: pass an asynchronous step as its promise');
  } catch (error) {
    return reasonOf(error);
  }
  return 'accepted';
}

function reasonOf(error: unknown): string {
  if (error instanceof ProofRejected) return error.reason;
  throw error;
}
