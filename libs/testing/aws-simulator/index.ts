import { RequestLog } from './request-log';
import { startServiceServer } from './server';
import { World, type WorldInit } from './world';

// Test support: an AWS simulator the server reaches only through the SDK's
// standard endpoint settings. See README.md.

export { createIidSigner, type IidSigner, type SignOptions } from './iid-signer';
export { identityDocument, startImds, type ImdsOptions } from './imds';
export { RequestLog, type LogEntry, type LogFilter } from './request-log';
export type { RunningHttp } from './server';
export { World } from './world';
export type * from './world';

export interface AwsSimulator {
  /** `http://127.0.0.1:<port>`: every service answers here */
  url: string;
  world: World;
  log: RequestLog;
  /**
   * `AWS_ENDPOINT_URL_{EC2,STS,IAM,ORGANIZATIONS,EKS,AUTO_SCALING}`,
   * `AWS_REGION`, and the server identity's `AWS_ACCESS_KEY_ID` /
   * `AWS_SECRET_ACCESS_KEY`.
   */
  endpointEnv(): Record<string, string>;
  close(): Promise<void>;
}

export async function startAwsSimulator(world?: WorldInit | World): Promise<AwsSimulator> {
  const w = world instanceof World ? world : new World(world);
  const log = new RequestLog();
  const http = await startServiceServer(w, log);
  return {
    url: http.url,
    world: w,
    log,
    endpointEnv: () => ({
      AWS_ENDPOINT_URL_EC2: http.url,
      AWS_ENDPOINT_URL_STS: http.url,
      AWS_ENDPOINT_URL_IAM: http.url,
      AWS_ENDPOINT_URL_ORGANIZATIONS: http.url,
      AWS_ENDPOINT_URL_EKS: http.url,
      AWS_ENDPOINT_URL_AUTO_SCALING: http.url,
      AWS_REGION: w.defaultRegion,
      AWS_ACCESS_KEY_ID: w.server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: w.server.secretAccessKey,
    }),
    close: () => http.close(),
  };
}
