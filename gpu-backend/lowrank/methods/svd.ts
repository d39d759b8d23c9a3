/** svd: PEFT's svd, Σ wᵢ·ΔWᵢ truncated to basis_size. */
import { collapsedMethod, commonSpec } from './collapsed-method.ts';

export const implementation = collapsedMethod('svd', (params) => ({ method: 'svd', ...commonSpec(params) }));
