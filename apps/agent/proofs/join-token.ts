import { CollectorSettingsError, type ProofCollector } from './collector';

export interface JoinTokenSettings {
  /** the one-time secret from `attestctl join-token create` */
  joinToken?: string;
}

/** `join_token`: sends the token as given (`{ token }`); it binds no challenge. */
export function joinTokenCollector(settings: JoinTokenSettings): ProofCollector {
  const token = settings.joinToken;
  if (token === undefined || token === '') throw new CollectorSettingsError('join_token: no token given');
  return {
    type: 'join_token',
    async collect() {
      return { token };
    },
  };
}
