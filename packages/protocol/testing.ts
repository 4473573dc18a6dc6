/**
 * Test support: the HTTP binding's document (openapi.yaml) as a checker of answers, with a
 * maintained JSON Schema 2020-12 validator (OpenAPI 3.1's schema dialect).
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

export const OPENAPI_FILE = new URL('./openapi.yaml', import.meta.url);

interface Doc {
  paths: Record<string, Record<string, { operationId?: string; responses?: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }> }>>;
  components: Record<string, Record<string, unknown>>;
}

export function openapiDocument(): Doc {
  return parse(readFileSync(OPENAPI_FILE, 'utf8')) as Doc;
}

/** `check(operationId, status, body)` returns what is wrong with an answer, or [] when the document allows it. */
export function answerChecker(): (operationId: string, status: number, body: unknown) => string[] {
  const doc = openapiDocument();
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema({ $id: 'doc', components: doc.components } as never);
  const responses = new Map<string, Record<string, unknown>>();
  for (const item of Object.values(doc.paths)) {
    for (const op of Object.values(item)) if (op?.operationId !== undefined && op.responses !== undefined) responses.set(op.operationId, op.responses);
  }
  const rebase = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"doc#/components/'));
  return (operationId, status, body) => {
    const declared = responses.get(operationId);
    if (declared === undefined) return [`${operationId}: not an operation of the document`];
    let response = declared[String(status)] as { $ref?: string; content?: Record<string, { schema: unknown }> } | undefined;
    if (response === undefined) return [`${operationId}: status ${status} is not documented`];
    if (response.$ref !== undefined) response = doc.components['responses']![response.$ref.split('/').pop()!] as typeof response;
    const schema = response?.content?.['application/json']?.schema;
    if (schema === undefined) return body === undefined ? [] : [`${operationId} ${status}: documented without a body, answered with one`];
    const validate = ajv.compile(rebase(schema) as object);
    return validate(body) ? [] : (validate.errors ?? []).map((e) => `${operationId} ${status}: ${e.instancePath || '/'} ${e.message ?? ''}`);
  };
}
