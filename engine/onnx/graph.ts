/**
 * A small ONNX graph builder over the `onnx-proto` message classes (protobufjs code generated from
 * onnx.proto, ONNX 1.10): nodes with generated output names, initializers from host arrays, and the
 * ModelProto encoding. The exporter (export.ts) describes the model with it op by op.
 */
import { onnx } from 'onnx-proto';

/** Attribute values: integer(s) as numbers, floats wrapped so ints and floats never get confused. */
export type AttrValue = number | number[] | string | { f: number } | { floats: number[] };

/** ONNX IR version 8 / default-domain opset 17 (LayerNormalization; ops used here all exist at 17). */
export const IR_VERSION = 8;
export const OPSET = 17;

const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

function attribute(name: string, v: AttrValue): onnx.IAttributeProto {
  if (typeof v === 'number') return { name, type: AT.INT, i: v };
  if (typeof v === 'string') return { name, type: AT.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AT.INTS, ints: v };
  if ('f' in v) return { name, type: AT.FLOAT, f: v.f };
  return { name, type: AT.FLOATS, floats: v.floats };
}

function bytesOf(a: Float32Array | BigInt64Array | Uint8Array): Uint8Array {
  // TensorProto raw_data is little-endian, as typed arrays are on every platform Node runs on here.
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly constCache = new Map<string, string>();
  private counter = 0;

  private fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** A float32 initializer; `name` defaults to a generated one (weights keep their state-dict names). */
  initF(data: Float32Array, dims: number[], name?: string): string {
    const n = name ?? this.fresh('c');
    this.initializers.push({ name: n, dataType: DT.FLOAT, dims, rawData: bytesOf(data) });
    return n;
  }

  /** An int64 initializer (shapes, axes, slice bounds), shared between nodes that use the same values. */
  initI64(values: Array<number | bigint>): string {
    const key = `i64:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const n = this.fresh('i');
    this.initializers.push({ name: n, dataType: DT.INT64, dims: [values.length], rawData: bytesOf(BigInt64Array.from(values, (v) => BigInt(v))) });
    this.constCache.set(key, n);
    return n;
  }

  /** A float32 scalar, shared. */
  scalar(v: number): string {
    const key = `f:${v}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const n = this.initF(Float32Array.of(v), []);
    this.constCache.set(key, n);
    return n;
  }

  initBool(data: Uint8Array, dims: number[]): string {
    const n = this.fresh('b');
    this.initializers.push({ name: n, dataType: DT.BOOL, dims, rawData: data });
    return n;
  }

  /** One node with a single output; returns the output name. */
  op(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.opN(type, inputs, 1, attrs)[0];
  }

  /** One node with `outputs` outputs. */
  opN(type: string, inputs: string[], outputs: number, attrs: Record<string, AttrValue> = {}): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(type));
    this.nodes.push({
      opType: type, name: this.fresh(`n_${type}`), input: inputs, output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Graph input of float32 with symbolic (string) or fixed dims. */
  input(name: string, dims: Array<number | string>): string {
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  /** Marks `value` as graph output `name` (through an Identity when the names differ). */
  output(value: string, name: string, dims: Array<number | string>): void {
    this.nodes.push({ opType: 'Identity', name: this.fresh('n_out'), input: [value], output: [name] });
    this.outputs.push(valueInfo(name, dims));
  }

  encode(docString: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'sed-studio',
      docString,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: { name: 'sed', node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, dims: Array<number | string>): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: DT.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}
