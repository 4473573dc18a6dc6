import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { KmsError, isKmsErrorCode, parseAwsError } from './errors.ts';
import { waitingUpstream } from './latency.ts';

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** LocalStack over kept-alive loopback connections. */
export class Upstream {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 });
  readonly #url: URL;
  calls = 0;

  constructor(endpoint: string) {
    this.#url = new URL(endpoint);
  }

  send(headers: Record<string, string>, body: string): Promise<UpstreamResponse> {
    this.calls++;
    return waitingUpstream(() => this.#request(headers, body));
  }

  #request(headers: Record<string, string>, body: string): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          agent: this.#agent,
          hostname: this.#url.hostname,
          port: this.#url.port,
          path: '/',
          method: 'POST',
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * Calls LocalStack as `account` for the gateway's own needs (key metadata, policy,
   * expiring material). LocalStack reads the account from the access key id and checks no signature.
   */
  async call<T = Record<string, unknown>>(account: string, region: string, operation: string, body: Record<string, unknown>): Promise<T> {
    const res = await this.send(
      {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `TrentService.${operation}`,
        authorization: authorizationFor(account, region),
      },
      JSON.stringify(body),
    );
    if (res.status >= 300) {
      const { code, message } = parseAwsError(res.body);
      throw isKmsErrorCode(code) ? new KmsError(code, message) : new KmsError('KMSInternalException', `LocalStack ${operation} answered ${res.status}`);
    }
    return (res.body === '' ? {} : JSON.parse(res.body)) as T;
  }

  close(): void {
    this.#agent.destroy();
  }
}

export function authorizationFor(account: string, region: string): string {
  return `AWS4-HMAC-SHA256 Credential=${account}/20260101/${region}/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;
}

/** Access key id and region from a SigV4 Authorization header. */
export function parseAuthorization(header: string | undefined): { accessKeyId: string; region: string } | undefined {
  const m = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/[^/]+\/aws4_request/.exec(header ?? '');
  return m ? { accessKeyId: m[1]!, region: m[2]! } : undefined;
}
