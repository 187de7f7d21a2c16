/**
 * Build step (`npm run build`, after tsc): bundles the workflow code once, as Temporal recommends
 * for production, into dist/workflow-bundle.js next to the compiled worker, which loads it
 * (`workflowBundle: { codePath }`) instead of running webpack at every start.
 *
 * `node dist/bundle-workflows.js` bundles the compiled dist/workflows/index.js, the same code the
 * compiled activities and client were built with.
 */
import { writeFileSync } from 'node:fs';
import { bundleWorkflows, workflowBundlePath, workflowsPath } from './worker.js';

if (workflowsPath().endsWith('.ts')) {
  // From the sources a bundle next to src/worker.ts would shadow the code `npm run dev` edits.
  console.error(
    'bundle-workflows: run the compiled build step (node dist/bundle-workflows.js), not the source',
  );
  process.exit(2);
}
const { code } = await bundleWorkflows();
const out = workflowBundlePath();
writeFileSync(out, code);
console.log(`workflow bundle: ${workflowsPath()} -> ${out} (${Math.round(code.length / 1024)} KiB)`);
