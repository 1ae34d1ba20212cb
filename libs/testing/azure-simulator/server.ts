import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { armAnswer, armError, armOperation } from './arm';
import { entraAnswer, entraOperation } from './entra';
import { answerEndlessly } from '../endless-body';
import { readBody, sendJson, type JsonAnswer, type RunningHttp } from './http';
import type { LogEntry, RequestLog } from './request-log';
import type { TlsIdentity } from './tls';
import { verifyArmBearer } from './tokens';
import type { AzureService, AzureWorld } from './world';

// One https server for Entra and ARM (the paths do not overlap), as the
// server reaches them through `azure.authorityHost` and
// `azure.resourceManagerEndpoint`. Order per request: route, down, throttle,
// (ARM) bearer token, the operation; every request is logged.

interface Route {
  service: AzureService;
  operation: string;
}

function route(method: string, path: string): Route | undefined {
  const entra = entraOperation(method, path);
  if (entra) return { service: 'entra', operation: entra };
  const arm = armOperation(method, path);
  return arm ? { service: 'arm', operation: arm } : undefined;
}

async function answer(
  world: AzureWorld,
  url: string,
  req: IncomingMessage,
  entry: LogEntry,
): Promise<JsonAnswer | 'endless'> {
  const target = new URL(req.url ?? '/', url);
  const body = await readBody(req);
  const found = route(req.method ?? 'GET', target.pathname);
  if (!found) return armError(404, 'NotFound', `azure-simulator: no route for ${req.method} ${target.pathname}`);
  Object.assign(entry, found);
  if (world.isEndless(found.service)) return 'endless';
  if (world.isDown(found.service))
    return armError(503, 'ServiceUnavailable', 'The service is temporarily unavailable.');
  if (world.takeThrottle(found.service))
    return { ...armError(429, 'TooManyRequests', 'Too many requests.'), headers: { 'retry-after': '0' } };
  if (found.service === 'entra') return entraAnswer(world, url, found.operation, target.pathname, body);
  const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  const caller = bearer ? await verifyArmBearer(world, url, bearer, [url, `${url}/`]) : null;
  if (!caller)
    return armError(
      401,
      bearer ? 'InvalidAuthenticationToken' : 'AuthenticationFailed',
      bearer ? 'The access token is invalid.' : "Authentication failed. The 'Authorization' header is missing.",
    );
  entry.tenantId = String(caller.tid);
  return armAnswer(world, found.operation, target.pathname, target.searchParams);
}

/** Starts the simulator on https://127.0.0.1:<ephemeral> with the given certificate. */
export async function startHttpsServer(world: AzureWorld, log: RequestLog, tls: TlsIdentity): Promise<RunningHttp> {
  let url = '';
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const entry: LogEntry = { service: 'unknown', operation: 'unknown', status: 0 };
    answer(world, url, req, entry)
      .catch((error: unknown) => armError(500, 'InternalServerError', `azure-simulator: ${(error as Error).message}`))
      .then((result) => {
        entry.status = result === 'endless' ? 200 : result.status;
        log.record(entry);
        if (result === 'endless') answerEndlessly(res);
        else sendJson(res, result);
      })
      .catch(() => res.destroy());
  };
  const server = createServer({ cert: tls.certificatePem, key: tls.keyPem }, handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
