import { isIP } from 'node:net';
import { suggestion } from './settings-problems';

/** Variables of attestd's other commands, which the shell or unit that runs the server may hold too. */
const OTHER_COMMANDS = ['ATTESTD_SERVER', 'ATTESTD_TOKEN', 'ATTESTD_JOIN_TOKEN', 'ATTESTD_AGENT_ARGS'];

/**
 * `ATTESTD_*` variables that are no setting: a misspelt one
 * (`ATTESTD_TRUST_DOMIAN`) would otherwise be ignored and the server start
 * on a default. `known` are the settings' variables.
 */
export function unknownVariables(env: NodeJS.ProcessEnv, known: readonly string[]): string[] {
  const accepted = new Set([...known, ...OTHER_COMMANDS]);
  const services = serviceLinkPrefixes(env);
  return Object.keys(env)
    .filter((name) => name.startsWith('ATTESTD_') && !accepted.has(name))
    .filter(
      (name) =>
        !services.some(
          (prefix) =>
            name.startsWith(`${prefix}_SERVICE_`) || name === `${prefix}_PORT` || name.startsWith(`${prefix}_PORT_`),
        ),
    )
    .sort()
    .map((name) => `${name}: unknown variable${suggestion(name, known)}`);
}

/**
 * Kubernetes gives every pod a Service's address as variables named after
 * it (`enableServiceLinks`): a Service `attestd` in the namespace sets
 * `ATTESTD_SERVICE_HOST`, `ATTESTD_PORT`, `ATTESTD_PORT_8080_TCP_ADDR` and
 * more. They are recognised by their `…_SERVICE_HOST`, which holds an IP.
 */
function serviceLinkPrefixes(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env).flatMap(([name, value]) => {
    const match = /^(ATTESTD[A-Z0-9_]*)_SERVICE_HOST$/.exec(name);
    return match && value !== undefined && isIP(value) !== 0 ? [match[1]!] : [];
  });
}
