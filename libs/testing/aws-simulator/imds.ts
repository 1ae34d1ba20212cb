import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IidSigner } from './iid-signer';
import type { RunningHttp } from './server';
import { parseIamArn, type Instance, type Session, type World } from './world';

// An IMDSv2 simulator for one instance: session tokens (PUT
// /latest/api/token), the instance identity document and its rsa2048
// signature, and role credentials in the JSON the SDK credential chain reads
// (point it here with AWS_EC2_METADATA_SERVICE_ENDPOINT).

export interface ImdsOptions {
  /** issues the instance role's credentials (needs the instance's profile and role in this world) */
  world?: World;
  /** answer GETs without a session token (IMDSv1); default false: 401 as with `HttpTokens=required` */
  allowImdsV1?: boolean;
  /** serve this text instead of the document made from the instance (tests of tampered documents) */
  document?: string;
}

const MAX_TOKEN_TTL_SECONDS = 21600;

/** Renders JSON the way IMDS does (2-space indent, ` : ` separators, `[ "a" ]` arrays). */
export function imdsJson(value: Record<string, string | number | null | string[]>): string {
  const render = (v: string | number | null | string[]): string =>
    Array.isArray(v) ? `[ ${v.map((x) => JSON.stringify(x)).join(', ')} ]` : JSON.stringify(v);
  const lines = Object.entries(value).map(([k, v]) => `  ${JSON.stringify(k)} : ${render(v)}`);
  return `{\n${lines.join(',\n')}\n}`;
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The instance identity document text, in IMDS's field order and layout. */
export function identityDocument(instance: Instance): string {
  return imdsJson({
    accountId: instance.accountId,
    architecture: instance.architecture,
    availabilityZone: instance.availabilityZone,
    billingProducts: null,
    devpayProductCodes: null,
    marketplaceProductCodes: null,
    imageId: instance.imageId,
    instanceId: instance.instanceId,
    instanceType: instance.instanceType,
    kernelId: null,
    pendingTime: isoSeconds(instance.launchTime),
    privateIp: instance.privateIp,
    ramdiskId: null,
    region: instance.region,
    version: '2017-09-30',
  });
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

const STATUS_PAGES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
};

function fail(res: ServerResponse, status: number): void {
  const title = STATUS_PAGES[status] ?? 'Error';
  const body = `<?xml version="1.0" encoding="iso-8859-1"?>\n<html><head><title>${status} - ${title}</title></head><body><h1>${status} - ${title}</h1></body></html>\n`;
  res.writeHead(status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Starts an IMDS for `instance` on 127.0.0.1 and an ephemeral port. */
export async function startImds(
  instance: Instance,
  signer: IidSigner,
  options: ImdsOptions = {},
): Promise<RunningHttp> {
  const tokens = new Map<string, number>();
  const document = options.document ?? identityDocument(instance);
  let signature: Promise<string> | undefined;
  let session: Session | undefined;

  const roleArn = (): string | undefined => {
    if (!options.world || !instance.iamInstanceProfileArn) return undefined;
    const { accountId, name } = parseIamArn(instance.iamInstanceProfileArn);
    return options.world.findInstanceProfile(accountId, name)?.roleArns[0];
  };

  let issuedAt = 0;
  // Like IMDS, hand out fresh credentials well before the old ones expire.
  const credentials = (world: World, arn: string): Session => {
    const now = world.now().getTime();
    if (session) {
      const lifetime = session.expiration.getTime() - issuedAt;
      if (now < session.expiration.getTime() - Math.min(300_000, lifetime / 2)) return session;
    }
    session = world.issueSession(arn, instance.instanceId, 6 * 3600);
    issuedAt = now;
    return session;
  };

  const get = async (path: string, res: ServerResponse): Promise<void> => {
    switch (path) {
      case '/latest/dynamic/instance-identity/document':
        return text(res, 200, document);
      case '/latest/dynamic/instance-identity/rsa2048':
        signature ??= signer.sign(document);
        return text(res, 200, await signature);
      case '/latest/meta-data/instance-id':
        return text(res, 200, instance.instanceId);
      case '/latest/meta-data/ami-id':
        return text(res, 200, instance.imageId);
      case '/latest/meta-data/instance-type':
        return text(res, 200, instance.instanceType);
      case '/latest/meta-data/local-ipv4':
        return text(res, 200, instance.privateIp);
      case '/latest/meta-data/placement/availability-zone':
        return text(res, 200, instance.availabilityZone);
      case '/latest/meta-data/placement/region':
        return text(res, 200, instance.region);
    }
    const prefix = '/latest/meta-data/iam/security-credentials/';
    if (path === prefix || path === prefix.slice(0, -1)) {
      const arn = roleArn();
      return arn ? text(res, 200, parseIamArn(arn).name) : fail(res, 404);
    }
    if (path.startsWith(prefix)) {
      const arn = roleArn();
      const requested = decodeURIComponent(path.slice(prefix.length).replace(/\/$/, ''));
      if (!arn || !options.world || parseIamArn(arn).name !== requested) return fail(res, 404);
      const s = credentials(options.world, arn);
      return text(
        res,
        200,
        imdsJson({
          Code: 'Success',
          LastUpdated: isoSeconds(options.world.now()),
          Type: 'AWS-HMAC',
          AccessKeyId: s.accessKeyId,
          SecretAccessKey: s.secretAccessKey,
          Token: s.sessionToken,
          Expiration: isoSeconds(s.expiration),
        }),
      );
    }
    return fail(res, 404);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://imds.invalid').pathname;
    if (path === '/latest/api/token') {
      if (req.method !== 'PUT') return fail(res, 405);
      // IMDS refuses token requests that went through a proxy.
      if (req.headers['x-forwarded-for'] !== undefined) return fail(res, 403);
      const ttlHeader = req.headers['x-aws-ec2-metadata-token-ttl-seconds'];
      const ttl = typeof ttlHeader === 'string' && /^\d+$/.test(ttlHeader) ? Number(ttlHeader) : NaN;
      if (!(ttl >= 1 && ttl <= MAX_TOKEN_TTL_SECONDS)) return fail(res, 400);
      const token = randomBytes(42).toString('base64');
      tokens.set(token, Date.now() + ttl * 1000);
      return text(res, 200, token, { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, 405);
    const token = req.headers['x-aws-ec2-metadata-token'];
    if (token === undefined) {
      if (!options.allowImdsV1) return fail(res, 401);
    } else {
      const expiry = typeof token === 'string' ? tokens.get(token) : undefined;
      if (expiry === undefined || Date.now() >= expiry) return fail(res, 401);
    }
    return get(path, res);
  };

  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      handle(req, res).catch(() => {
        if (!res.headersSent) fail(res, 500);
      });
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
