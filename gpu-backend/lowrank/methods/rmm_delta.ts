/** rmm_delta: p orthonormal basis deltas and a coefficient per task, construction (b) of arXiv 2510.14163. */
import { reversibleMethod } from './reversible-method.ts';

export const implementation = reversibleMethod('rmm_delta', 'delta');
