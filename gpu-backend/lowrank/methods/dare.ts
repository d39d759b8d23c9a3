/** dare: PEFT's dare_linear_svd on whole deltas. */
import { collapsedMethod, commonSpec } from './collapsed-method.ts';

export const implementation = collapsedMethod('dare', (params) => ({ method: 'dare', ...commonSpec(params) }));
