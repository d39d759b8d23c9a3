/**
 * Which nodes of an engine graph onnxruntime places on the CPU when the session asks for WebGPU first: read from
 * the verbose log of a child process (placement-child.ts), since ORT writes it to the native stderr only.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const GRAPH_KINDS = [
  'inference',
  'inference-bf16',
  'inference-int8',
  'inference-int4',
  'train-layer-forward',
  'train-layer-backward',
  'train-head',
] as const;
export type GraphKind = (typeof GRAPH_KINDS)[number];

export interface PlacedNode {
  op: string;
  name: string;
}

const child = fileURLToPath(new URL('placement-child.ts', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

export interface Placement {
  /** Nodes per execution provider (CPUExecutionProvider, WebGpuExecutionProvider). */
  counts: Record<string, number>;
  /** The nodes placed on the CPU (ORT lists nodes one by one only when more than one provider is used). */
  cpu: PlacedNode[];
}

export async function nodePlacement(kind: GraphKind): Promise<Placement> {
  const { stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', child, kind], {
    cwd: root,
    maxBuffer: 256 * 1024 * 1024,
  });
  const placement: Placement = { counts: {}, cpu: [] };
  let provider: string | null = null;
  for (const line of stderr.split('\n')) {
    if (!line.includes('VerifyEachNodeIsAssignedToAnEp]')) {
      provider = null;
      continue;
    }
    const header = /(?:Node\(s\)|All nodes) placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(line);
    const node = /\]\s{3}(\S+) \((.*)\)\s*$/.exec(line);
    if (header) {
      provider = header[1];
      placement.counts[provider] = Number(header[2]);
    } else if (node && provider === 'CPUExecutionProvider') placement.cpu.push({ op: node[1], name: node[2] });
  }
  if (Object.keys(placement.counts).length === 0) throw new Error(`no node placement in the log of ${kind}:\n${stderr.slice(-2000)}`);
  return placement;
}
