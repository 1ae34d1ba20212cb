import { ProofRejected } from '../attestor';

/**
 * The reason for operators a verification was refused with (ProofRejected's
 * `reason`), or `accepted` when it verified; any other error (an outage, a
 * bug) propagates. The attestor specs compare it with the exact text, so a
 * reworded or misrouted refusal fails a test.
 */
export async function rejectionReason(verification: Promise<unknown>): Promise<string> {
  try {
    await verification;
  } catch (error) {
    if (error instanceof ProofRejected) return error.reason;
    throw error;
  }
  return 'accepted';
}
