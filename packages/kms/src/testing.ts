/**
 * @deprecated Test support moved to `@ekm/kms/testing` (testing/code-of.ts). Kept only for the
 * snapshot tests, whose owner is changing them right now; import from '../testing/index.ts'.
 */
export { codeOf } from '../testing/code-of.ts';
