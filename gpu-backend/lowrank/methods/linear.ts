/** linear: PEFT's linear, lora_A and lora_B merged separately. */
import { collapsedMethod, commonSpec } from './collapsed-method.ts';

export const implementation = collapsedMethod('linear', (params) => ({ method: 'linear', ...commonSpec(params) }));
