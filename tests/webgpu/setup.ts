/** Every session of the webgpu project runs on WebGPU: SwiftShader on a machine without a Vulkan GPU. */
import { useExecutionProvider } from '../../gpu-backend/engine/providers.ts';

await useExecutionProvider('webgpu');
