/** The Cronofy simulator: start it with `CronofySimulator.start(...)`; see ./simulator.ts. */
export type { SimDelivery } from './delivery.js';
export type { PagingMode } from './read-events.js';
export { CronofySimulator } from './simulator.js';
export {
  type CreateAccountOptions,
  type SimAccount,
  type SimCalendarChange,
  type SimEventInput,
  type SimProfile,
  type SimProfileInput,
  SimulatorInputError,
} from './state.js';
export type {
  CronofySimulatorOptions,
  SimChannelClosure,
  SimFault,
  SimFaultHandle,
  SimPageServed,
  SimRequest,
  SimulatorControls,
  SimulatorLogger,
} from './types.js';
