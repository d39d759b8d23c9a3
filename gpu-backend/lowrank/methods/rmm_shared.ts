/** rmm_shared: ΔWᵢ ≈ U·Σᵢ·Vᵀ per module, its tasks served through the shared basis (lowrank/README.md). */
import { sharedBasisOfMerge } from '../shared-basis-form.ts';
import { reversibleMethod } from './reversible-method.ts';

export const implementation = reversibleMethod('rmm_shared', 'shared', { sharedBasis: async (merge) => sharedBasisOfMerge(merge) });
