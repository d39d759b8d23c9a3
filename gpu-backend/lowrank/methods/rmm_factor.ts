/** rmm_factor: the published factor-space construction (a) of arXiv 2510.14163. */
import { reversibleMethod } from './reversible-method.ts';

export const implementation = reversibleMethod('rmm_factor', 'factor');
