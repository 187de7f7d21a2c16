/** The Cronofy simulator: start it with `CronofySimulator.start(...)`; see ./simulator.ts. */
export type { SimDelivery } from './delivery.js';
export { CronofySimulator } from './simulator.js';
export { type SimAccount, type SimEventInput, SimulatorInputError } from './state.js';
export type {
  CronofySimulatorOptions,
  SimChannelClosure,
  SimFault,
  SimFaultHandle,
  SimRequest,
  SimulatorControls,
  SimulatorLogger,
} from './types.js';
