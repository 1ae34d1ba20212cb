import type { Logger } from 'pino';
import { envName, type Settings } from './settings';

/**
 * Settings that start a working server but not the one an operator most
 * likely wants, each said once at start with the setting that changes it.
 * (Plain HTTP off loopback is said by the transport, which knows the address.)
 */
export function logStartUpWarnings(settings: Settings, logger: Logger): void {
  if (!settings.jwtIssuer.startsWith('https://')) {
    logger.warn(
      { setting: 'jwtIssuer', variable: envName('jwtIssuer'), jwtIssuer: settings.jwtIssuer },
      `oidc: the JWT-SVID issuer is not an https URL; AWS STS web identity federation (and most OIDC relying parties) fetch the issuer's discovery document over https only: set jwtIssuer (${envName('jwtIssuer')}) to the https URL they reach`,
    );
  }
}
