/** The Cronofy simulator: start it with `CronofySimulator.start(...)`; see ./simulator.ts. */
export type { SimDelivery } from './delivery.js';
export {
  CronofySimulator,
  type CronofySimulatorOptions,
  type SimChannelClosure,
  type SimFault,
  type SimFaultHandle,
  type SimRequest,
  type SimulatorLogger,
} from './simulator.js';
export { type SimAccount, type SimEventInput, SimulatorInputError } from './state.js';
