/** cat: PEFT's concatenation, exactly Σ wᵢ·ΔWᵢ. */
import { collapsedMethod, commonSpec } from './collapsed-method.ts';

export const implementation = collapsedMethod('cat', (params) => ({ method: 'cat', ...commonSpec(params) }));
