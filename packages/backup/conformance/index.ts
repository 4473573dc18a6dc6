export { referenceProvider, REFERENCE_INFO, type ReferenceOptions } from './driver.ts';
export { TamperError } from './tamper.ts';
