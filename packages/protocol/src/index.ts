export * from './protocol.ts';
export { serveProvider, HTTP_ERRORS } from './http-server.ts';
export type { ServedProvider } from './http-server.ts';
export { httpProvider, ProtocolError, type AnswerObserver } from './http-client.ts';
export { loadProviderModule } from './module.ts';
