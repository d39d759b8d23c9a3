/** task_arithmetic: Σ wᵢ·ΔWᵢ, exact, or truncated to basis_size. */
import { collapsedMethod, commonSpec } from './collapsed-method.ts';

export const implementation = collapsedMethod('task_arithmetic', (params) => ({ method: 'task_arithmetic', ...commonSpec(params) }));
