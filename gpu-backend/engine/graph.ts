/**
 * A minimal ONNX graph under construction: typed values with (possibly symbolic) shapes, nodes named after
 * where they sit in the model (`/model/layers.3/attn/q_proj/MatMul`), initializers, and a tape of the
 * differentiable ops emitted so far, which `autodiff.ts` walks backwards. `ops.ts` holds the ops themselves.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** A dimension: a number when known when the graph is built, a name when it is a free (dynamic) axis. */
export type Dim = number | string;
export type ElemType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'uint8' | 'bool';

export interface Value {
  readonly name: string;
  readonly type: ElemType;
  readonly shape: readonly Dim[];
}

/** TensorProto.DataType codes: the types of graph values and the `to` of a Cast. */
export const ONNX_TYPE: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  float16: onnx.TensorProto.DataType.FLOAT16,
  bfloat16: onnx.TensorProto.DataType.BFLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  uint8: onnx.TensorProto.DataType.UINT8,
  bool: onnx.TensorProto.DataType.BOOL,
};

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] } | { tensor: Initializer };

export interface Initializer {
  name: string;
  type: ElemType;
  dims: number[];
  /** The values inline, or null for a weight kept in ONNX external data (`external`, set before `toOnnx`). */
  data: Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array | null;
  external?: ExternalLocation;
}

/** Where an initializer's bytes sit in an external-data file beside the model file (ONNX `external_data`). */
export interface ExternalLocation {
  /** File name relative to the model file's folder. */
  location: string;
  offset: number;
  length: number;
}

export interface NodeSpec {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  /** Each output's element type (the graph transforms of fp16.ts read them; ONNX infers them on load). */
  outputTypes: ElemType[];
  attrs: Record<string, AttrValue>;
  domain: string;
}

/**
 * One recorded differentiable op: given the gradient of each output (or null where none flows), emit nodes that
 * compute the gradient of each input (null where an input needs none, e.g. an index or a frozen weight).
 */
export interface TapeEntry {
  inputs: Value[];
  outputs: Value[];
  vjp: (g: Graph, outputGrads: (Value | null)[], needed: boolean[]) => (Value | null)[];
}

export class Graph {
  readonly nodes: NodeSpec[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers: Initializer[] = [];
  readonly tape: TapeEntry[] = [];
  /** While false (e.g. when emitting a backward pass), ops are not recorded on the tape. */
  recording = true;
  private readonly scopes: string[] = [];
  private readonly used = new Map<string, number>();
  private readonly constants = new Map<string, Value>();

  /**
   * @param floatType the type of floating-point constants: float32 for the engine; float64 lets the gradient
   * tests check every rule against finite differences without float32 rounding in the way.
   */
  constructor(
    readonly name = 'rankgate',
    readonly floatType: 'float32' | 'float64' = 'float32',
  ) {}

  /** Runs `fn` with `name` appended to the scope that prefixes node and value names. */
  scope<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  private unique(base: string): string {
    const n = this.used.get(base) ?? 0;
    this.used.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  }

  input(name: string, type: ElemType, shape: Dim[]): Value {
    const v = { name, type, shape };
    this.inputs.push(v);
    this.used.set(name, 1);
    return v;
  }

  initializer(name: string, data: Initializer['data'], shape: number[], type: ElemType = 'float32'): Value {
    this.initializers.push({ name, type, dims: shape, data });
    this.used.set(name, 1);
    return { name, type, shape };
  }

  /**
   * A weight whose bytes live outside the graph (ONNX external data), so that no protobuf, which tops out at
   * 2 GB, ever holds a model's weights: its location is filled in when the weights are written
   * (external-weights.ts), before `toOnnx`.
   */
  externalInitializer(name: string, shape: number[], type: ElemType = 'float32'): Initializer {
    const init: Initializer = { name, type, dims: shape, data: null };
    this.initializers.push(init);
    this.used.set(name, 1);
    return init;
  }

  /** A small constant, deduplicated by content; floating-point constants take the graph's float type. */
  constant(values: number[] | bigint[], shape: number[], type: 'float' | 'float32' | 'int64' | 'int32' = 'float'): Value {
    const elem: ElemType = type === 'float' ? this.floatType : type;
    const key = `${type}:${shape.join('x')}:${values.join(',')}`;
    const hit = this.constants.get(key);
    if (hit) return hit;
    const data =
      elem === 'int64'
        ? BigInt64Array.from(values as (number | bigint)[], (x) => BigInt(x))
        : elem === 'int32'
          ? Int32Array.from(values as number[])
          : elem === 'float64'
            ? Float64Array.from(values as number[])
            : Float32Array.from(values as number[]);
    const v = this.initializer(this.unique(`/const/${elem}_${this.constants.size}`), data, shape, elem);
    this.constants.set(key, v);
    return v;
  }

  scalar(x: number): Value {
    return this.constant([x], []);
  }

  ints(values: number[]): Value {
    return this.constant(values, [values.length], 'int64');
  }

  output(v: Value, name?: string): Value {
    const out = name && name !== v.name ? this.node('Identity', [v], [v], {}, { label: name, names: [name] })[0] : v;
    this.outputs.push(out);
    return out;
  }

  /**
   * Emits one node and returns its outputs. `outs` gives each output's type and shape; `opts.names` fixes output
   * names (graph outputs), otherwise they derive from the node's name. `opts.domain` names a contrib operator set
   * (`com.microsoft`, for MatMulNBits over int4 weights); toOnnx imports each domain used.
   */
  node(
    opType: string,
    inputs: (Value | null)[],
    outs: { type: ElemType; shape: readonly Dim[] }[],
    attrs: Record<string, AttrValue> = {},
    opts: { label?: string; domain?: string; names?: string[] } = {},
  ): Value[] {
    const domain = opts.domain ?? '';
    const name = this.unique(`/${[...this.scopes, opts.label ?? opType].join('/')}`);
    const outputs = outs.map((o, i) => ({
      name: opts.names?.[i] ?? (outs.length === 1 ? `${name}_out` : `${name}_out${i}`),
      type: o.type,
      shape: o.shape,
    }));
    this.nodes.push({
      opType,
      name,
      inputs: inputs.map((v) => v?.name ?? ''),
      outputs: outputs.map((o) => o.name),
      outputTypes: outputs.map((o) => o.type),
      attrs,
      domain,
    });
    return outputs;
  }

  record(entry: TapeEntry): void {
    if (this.recording) this.tape.push(entry);
  }

  /** Runs `fn` without recording on the tape: for the insides of composite ops and for backward passes. */
  untaped<T>(fn: () => T): T {
    const was = this.recording;
    this.recording = false;
    try {
      return fn();
    } finally {
      this.recording = was;
    }
  }

  /** Serialises to an ONNX ModelProto (opset 17, plus com.microsoft when a node uses it). */
  toOnnx(): Uint8Array {
    const domains = new Set(this.nodes.map((n) => n.domain).filter((d) => d !== ''));
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'rankgate',
      opsetImport: [{ domain: '', version: 17 }, ...[...domains].map((domain) => ({ domain, version: 1 }))],
      graph: {
        name: this.name,
        node: this.nodes.map((n) => ({
          opType: n.opType,
          name: n.name,
          input: n.inputs,
          output: n.outputs,
          domain: n.domain || undefined,
          attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v)),
        })),
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
        initializer: this.initializers.map(tensorProto),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(v: Value) {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ONNX_TYPE[v.type],
        shape: { dim: v.shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

function tensorProto(t: Initializer) {
  const head = { name: t.name, dims: t.dims, dataType: ONNX_TYPE[t.type] };
  if (t.data) return { ...head, rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
  if (!t.external) throw new Error(`initializer ${t.name} has neither data nor an external location`);
  const { location, offset, length } = t.external;
  return {
    ...head,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: Object.entries({ location, offset, length }).map(([key, value]) => ({ key, value: String(value) })),
  };
}

function attribute(name: string, v: AttrValue) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  return { name, type: T.TENSOR, t: tensorProto(v.tensor) };
}
