/** The daemon gave up: attestd refused the agent for good, or it cannot log in again by itself. */
export class DaemonStopped extends Error {
  override readonly name = 'DaemonStopped';
}
