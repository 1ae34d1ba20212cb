import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AwsError,
  formParams,
  QueryProtocol,
  type RawRequest,
  type ServiceHandler,
  type ServiceResponse,
} from './protocol';
import type { LogEntry, RequestLog } from './request-log';
import { autoScalingService } from './services/autoscaling';
import { ec2Service } from './services/ec2';
import { eksService } from './services/eks';
import { iamService } from './services/iam';
import { organizationsService } from './services/organizations';
import { stsService } from './services/sts';
import { scopeService, verifySigV4 } from './sigv4';
import { answerEndlessly } from '../endless-body';
import { requestId, type ServiceName, type World } from './world';

// One HTTP server for every service, dispatched by the SigV4 credential
// scope's service name (as AWS's own endpoints are per service, and the SDK
// signs with the service's signing name). Order per request: latency, down,
// signature, throttling, the operation; every request is logged.

const HANDLERS: Record<ServiceName, ServiceHandler> = {
  ec2: ec2Service,
  iam: iamService,
  sts: stsService,
  organizations: organizationsService,
  eks: eksService,
  autoscaling: autoScalingService,
};

const MAX_BODY_BYTES = 1024 * 1024;

function isServiceName(s: string | undefined): s is ServiceName {
  return s !== undefined && Object.hasOwn(HANDLERS, s);
}

/** Which service an unsigned (or unreadably signed) request was meant for, so the refusal uses its envelope. */
function inferService(req: RawRequest): ServiceName | undefined {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string' && target.startsWith('AWSOrganizationsV20161128.')) return 'organizations';
  if (req.path.startsWith('/clusters')) return 'eks';
  const version = formParams(req).get('Version');
  const byVersion: Record<string, ServiceName> = {
    '2016-11-15': 'ec2',
    '2010-05-08': 'iam',
    '2011-06-15': 'sts',
    '2011-01-01': 'autoscaling',
  };
  return version ? byVersion[version] : undefined;
}

/** Auth refusals where a service's code differs from STS's (EC2 says AuthFailure; JSON services UnrecognizedClientException). */
function serviceAuthError(service: ServiceName, err: AwsError): AwsError {
  if (err.code !== 'InvalidClientTokenId') return err;
  if (service === 'ec2')
    return new AwsError('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
  if (service === 'organizations' || service === 'eks')
    return new AwsError('UnrecognizedClientException', err.message, 403);
  return err;
}

const genericProtocol = new QueryProtocol('', 'https://aws-simulator.invalid/');

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) resolve(undefined);
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, r: ServiceResponse): void {
  res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) });
  res.end(r.body);
}

async function handle(world: World, log: RequestLog, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator.invalid');
  const body = await readBody(req);
  const id = requestId();
  const time = new Date();
  if (body === undefined) {
    send(res, genericProtocol.error(new AwsError('RequestEntityTooLarge', 'request body too large', 413), id));
    return;
  }
  const raw: RawRequest = {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    headers: req.headers,
    body,
  };
  const scoped = scopeService(raw);
  const service = isServiceName(scoped) ? scoped : scoped === undefined ? inferService(raw) : undefined;
  const handler = service ? HANDLERS[service] : undefined;
  let operation = 'unknown';
  let params: Record<string, unknown> = {};
  try {
    if (handler) {
      operation = handler.operation(raw);
      params = handler.params(raw);
    }
  } catch {
    // unreadable parameters: the handler reports them below
  }
  const entry: LogEntry = { service, operation, params, time, status: 0 };
  const finish = (r: ServiceResponse, error?: string): void => {
    entry.status = r.status;
    if (error !== undefined) entry.error = error;
    log.record(entry);
    send(res, r);
  };

  const latency = world.latencyMs(service);
  if (latency > 0) await sleep(latency, undefined, { ref: false }); // unref'd: a delayed answer the client gave up on must not keep a test process alive

  const down = world.downMode(service);
  if (down === 'reset') {
    entry.error = 'ConnectionReset';
    log.record(entry);
    req.socket.destroy();
    return;
  }
  if (down === 'endless') {
    entry.status = 200;
    log.record(entry);
    answerEndlessly(res, 'text/xml', '<GetCallerIdentityResponse>');
    return;
  }
  const render = (err: AwsError): ServiceResponse =>
    handler ? handler.error(err, id) : genericProtocol.error(err, id);
  if (down === '503') {
    const err = new AwsError('ServiceUnavailable', 'Service is unavailable', 503);
    finish(render(err), err.code);
    return;
  }
  if (!handler || !service) {
    const err = new AwsError(
      'UnknownService',
      `aws-simulator: no service for credential scope '${scoped ?? '(none)'}'`,
      400,
    );
    finish(render(err), err.code);
    return;
  }

  try {
    const verified = await verifySigV4(raw, world);
    entry.caller = {
      accessKeyId: verified.caller.accessKeyId,
      accountId: verified.caller.accountId,
      arn: verified.caller.arn,
    };
    entry.region = verified.region;
    if (world.takeThrottle(service, operation)) {
      const err = handler.throttlingError();
      finish(handler.error(err, id), err.code);
      return;
    }
    const r = await handler.handle(
      { ...raw, service, region: verified.region, caller: verified.caller, requestId: id },
      world,
    );
    finish(r);
  } catch (e) {
    const err =
      e instanceof AwsError
        ? serviceAuthError(service, e)
        : new AwsError('InternalFailure', `aws-simulator: ${e instanceof Error ? e.message : String(e)}`, 500);
    finish(handler.error(err, id), err.code);
  }
}

export interface RunningHttp {
  url: string;
  close(): Promise<void>;
}

/** Starts the service endpoint on 127.0.0.1 and an ephemeral port. */
export async function startServiceServer(world: World, log: RequestLog): Promise<RunningHttp> {
  const server = createServer((req, res) => {
    handle(world, log, req, res).catch((e: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`aws-simulator: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
