export { cli, DEFAULT_OUT } from './cli.ts';
export type { Io } from './cli.ts';
export { ACTIONS, DOCTOR_TENANT, OPERATIONS, doctor, examine, render } from './doctor.ts';
export type { DoctorOptions, DoctorReport, IdentifierCheck, Operation, OperationCheck } from './doctor.ts';
export { ENDPOINT_LINE, gateway } from './gateway.ts';
