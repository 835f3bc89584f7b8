#!/usr/bin/env node
// Runs an ONNX model with ONNX Runtime (onnxruntime-node, CPU), the peer of
// quant's tests and benchmarks.
//
//   node bench/ort/ort_run.js MODEL.onnx -i NAME=FILE.npy ... [-o DIR]
//        [--print] [--threads N] [--bench N]
//
// Inputs and outputs are NumPy .npy files (little endian, C order). With -o,
// each output is written as DIR/NAME.npy. --bench N runs N more times and
// prints "latency over N runs: min X ms, median Y ms, max Z ms" like quant-run.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

const NPY_TYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '|i1': ['int8', Int8Array], '|u1': ['uint8', Uint8Array],
  '<i2': ['int16', Int16Array], '<u2': ['uint16', Uint16Array],
  '<i4': ['int32', Int32Array], '<u4': ['uint32', Uint32Array],
  '<i8': ['int64', BigInt64Array], '<u8': ['uint64', BigUint64Array],
  '|b1': ['bool', Uint8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12);
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1]
    .split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order`);
  const t = NPY_TYPES[descr];
  if (!t) throw new Error(`${file}: unsupported dtype ${descr}`);
  const bytes = buf.subarray(start + headerLen);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  let data = new t[1](copy.buffer, 0, bytes.length / t[1].BYTES_PER_ELEMENT);
  if (t[0] === 'bool') data = Uint8Array.from(data);
  return new ort.Tensor(t[0], t[0] === 'bool' ? Array.from(data, (v) => !!v) : data, shape);
}

function writeNpy(file, tensor) {
  const entry = Object.entries(NPY_TYPES).find(([, v]) => v[0] === tensor.type);
  if (!entry) throw new Error(`cannot write ${tensor.type}`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${entry[0]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  let data = tensor.data;
  if (tensor.type === 'bool') data = Uint8Array.from(data, (v) => (v ? 1 : 0));
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

async function main() {
  const args = process.argv.slice(2);
  let model = null, outDir = null, threads = 0, bench = 0, print = false;
  const inputs = {};
  for (let i = 0; i < args.length; ++i) {
    const a = args[i];
    if (a === '-i') {
      const [name, file] = args[++i].split(/=(.*)/s);
      inputs[name] = readNpy(file);
    } else if (a === '-o') outDir = args[++i];
    else if (a === '--threads') threads = Number(args[++i]);
    else if (a === '--bench') bench = Number(args[++i]);
    else if (a === '--print') print = true;
    else if (!model) model = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!model) throw new Error('usage: ort_run.js MODEL.onnx -i NAME=FILE.npy ... [-o DIR] [--print] [--threads N] [--bench N]');
  const options = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
  if (threads > 0) {
    options.intraOpNumThreads = threads;
    options.interOpNumThreads = 1;
  }
  const session = await ort.InferenceSession.create(model, options);
  const results = await session.run(inputs);
  for (const name of session.outputNames) {
    const t = results[name];
    if (print) {
      const values = Array.from(t.data, (v) => (typeof v === 'bigint' ? v.toString() : Number(v.toPrecision(8))));
      console.log(`${name} ${t.type} [${t.dims.join(', ')}]: ${values.join(' ')}`);
    }
    if (outDir) writeNpy(path.join(outDir, `${name.replace(/[/\0]/g, '_')}.npy`), t);
  }
  if (bench > 0) {
    const ms = [];
    for (let r = 0; r < bench; ++r) {
      const t0 = process.hrtime.bigint();
      await session.run(inputs);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    ms.sort((a, b) => a - b);
    console.log(`latency over ${bench} runs: min ${ms[0].toFixed(4)} ms, median ${ms[Math.floor(ms.length / 2)].toFixed(4)} ms, max ${ms[ms.length - 1].toFixed(4)} ms`);
  }
}

main().catch((e) => {
  console.error(`ort_run: ${e.message}`);
  process.exit(1);
});
