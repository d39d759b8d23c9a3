/** ties: PEFT's ties_svd on whole deltas. */
import { collapsedMethod, commonSpec } from './collapsed-method.ts';

export const implementation = collapsedMethod('ties', (params) => ({ method: 'ties', ...commonSpec(params) }));
