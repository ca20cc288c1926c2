// A Hugging Face Qwen2 folder (config.json + model.safetensors, f32 or bf16, one file) as a GGUF
// file for llama.cpp, the peer of bench/load.ts: F32, or F16 matrices with f32 norms and biases
// (as llama.cpp's own converter writes them). The weights only: the vocabulary is a stand-in
// (the 256 GPT-2 byte symbols, then "<|tN|>"), enough for llama.cpp to load the model and run
// it on token ids. Tensors are streamed one at a time (no copy of the whole model in memory).
//   npx tsx bench/gguf.ts DIR OUT.gguf [f32|f16]
// GGUF v3: "GGUF", version, tensor count, key/value count, key/values, tensor infos (name, dims
// innermost first, type, offset), padding to general.alignment (32), tensor data.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { readConfig } from '../lib/engine/config.js';

type Out = 'f32' | 'f16';
const ALIGN = 32;
const GGML_F32 = 0;
const GGML_F16 = 1;

interface StTensor {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function readHeader(file: string): { fd: number; base: number; tensors: Map<string, StTensor> } {
  const fd = openSync(file, 'r');
  const len = Buffer.alloc(8);
  readSync(fd, len, 0, 8, 0);
  const n = Number(len.readBigUInt64LE(0));
  const h = Buffer.alloc(n);
  readSync(fd, h, 0, n, 8);
  const json = JSON.parse(h.toString('utf8')) as Record<string, StTensor>;
  delete json.__metadata__;
  return { fd, base: 8 + n, tensors: new Map(Object.entries(json)) };
}

// Hugging Face name -> llama.cpp name (llama.cpp's qwen2 tensor map).
function ggufName(hf: string): string {
  const fixed: Record<string, string> = {
    'model.embed_tokens.weight': 'token_embd.weight',
    'model.norm.weight': 'output_norm.weight',
    'lm_head.weight': 'output.weight',
  };
  if (fixed[hf]) return fixed[hf];
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf);
  const part: Record<string, string> = {
    'input_layernorm.weight': 'attn_norm.weight',
    'self_attn.q_proj.weight': 'attn_q.weight',
    'self_attn.q_proj.bias': 'attn_q.bias',
    'self_attn.k_proj.weight': 'attn_k.weight',
    'self_attn.k_proj.bias': 'attn_k.bias',
    'self_attn.v_proj.weight': 'attn_v.weight',
    'self_attn.v_proj.bias': 'attn_v.bias',
    'self_attn.o_proj.weight': 'attn_output.weight',
    'post_attention_layernorm.weight': 'ffn_norm.weight',
    'mlp.gate_proj.weight': 'ffn_gate.weight',
    'mlp.up_proj.weight': 'ffn_up.weight',
    'mlp.down_proj.weight': 'ffn_down.weight',
  };
  if (!m || !part[m[2]]) throw new Error(`${hf}: no GGUF name for this tensor`);
  return `blk.${m[1]}.${part[m[2]]}`;
}

// GPT-2's byte-level symbols: printable bytes map to themselves, the rest to U+0100 onwards.
function byteSymbols(): string[] {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(keep(b) ? b : 256 + extra++));
}

class Writer {
  chunks: Buffer[] = [];
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.chunks.push(b);
  }
  i32(v: number) {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.chunks.push(b);
  }
  u64(v: number) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.chunks.push(b);
  }
  f32(v: number) {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.chunks.push(b);
  }
  str(s: string) {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.chunks.push(b);
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

// GGUF value types
const T_U32 = 4;
const T_I32 = 5;
const T_F32 = 6;
const T_STRING = 8;
const T_ARRAY = 9;

// f32 bits -> f16 bits, round to nearest even (native/io/half.h's rule).
function f32ToF16(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const a = u & 0x7fffffff;
  if (a > 0x7f800000) return sign | 0x7e00;
  if (a >= 0x477ff000) return sign | 0x7c00;
  if (a >= 0x38800000) {
    let r = a - (112 << 23);
    r += 0xfff + ((r >>> 13) & 1);
    return sign | (r >>> 13);
  }
  if (a < 0x33000000) return sign;
  const e = a >>> 23;
  const man = (a & 0x7fffff) | 0x800000;
  const shift = 126 - e;
  let m = man >>> shift;
  const rem = man & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (m & 1) !== 0)) m++;
  return sign | m;
}

export function toGguf(dir: string, out: string, type: Out): void {
  const c = readConfig(join(dir, 'config.json'));
  const st = readHeader(join(dir, 'model.safetensors'));
  const names = [...st.tensors.keys()].filter((n) => !(c.tieWordEmbeddings && n === 'lm_head.weight'));
  const kv = new Writer();
  let nkv = 0;
  const kvStr = (k: string, v: string) => (kv.str(k), kv.u32(T_STRING), kv.str(v), nkv++);
  const kvU32 = (k: string, v: number) => (kv.str(k), kv.u32(T_U32), kv.u32(v), nkv++);
  const kvF32 = (k: string, v: number) => (kv.str(k), kv.u32(T_F32), kv.f32(v), nkv++);
  kvStr('general.architecture', 'qwen2');
  kvStr('general.name', 'warmstart-bench');
  kvU32('general.alignment', ALIGN);
  kvU32('general.file_type', type === 'f32' ? 0 : 1);
  kvU32('qwen2.block_count', c.numHiddenLayers);
  kvU32('qwen2.context_length', c.maxPositionEmbeddings);
  kvU32('qwen2.embedding_length', c.hiddenSize);
  kvU32('qwen2.feed_forward_length', c.intermediateSize);
  kvU32('qwen2.attention.head_count', c.numAttentionHeads);
  kvU32('qwen2.attention.head_count_kv', c.numKeyValueHeads);
  kvF32('qwen2.rope.freq_base', c.ropeTheta);
  kvF32('qwen2.attention.layer_norm_rms_epsilon', c.rmsNormEps);
  kvStr('tokenizer.ggml.model', 'gpt2');
  kvStr('tokenizer.ggml.pre', 'qwen2');
  const bytesSym = byteSymbols();
  kv.str('tokenizer.ggml.tokens');
  kv.u32(T_ARRAY);
  kv.u32(T_STRING);
  kv.u64(c.vocabSize);
  for (let i = 0; i < c.vocabSize; i++) kv.str(i < 256 ? bytesSym[i] : `<|t${i}|>`);
  nkv++;
  kv.str('tokenizer.ggml.token_type');
  kv.u32(T_ARRAY);
  kv.u32(T_I32);
  kv.u64(c.vocabSize);
  for (let i = 0; i < c.vocabSize; i++) kv.i32(1); // normal
  nkv++;
  kv.str('tokenizer.ggml.merges');
  kv.u32(T_ARRAY);
  kv.u32(T_STRING);
  kv.u64(0);
  nkv++;
  kvU32('tokenizer.ggml.eos_token_id', c.vocabSize - 1);
  kvU32('tokenizer.ggml.bos_token_id', c.vocabSize - 1);

  const info = new Writer();
  let offset = 0;
  const plan: { name: string; t: StTensor; ggml: number; bytes: number; offset: number }[] = [];
  for (const n of names) {
    const t = st.tensors.get(n) as StTensor;
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const ggml = type === 'f16' && t.shape.length === 2 ? GGML_F16 : GGML_F32;
    const bytes = numel * (ggml === GGML_F16 ? 2 : 4);
    info.str(ggufName(n));
    info.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) info.u64(d);
    info.u32(ggml);
    info.u64(offset);
    plan.push({ name: n, t, ggml, bytes, offset });
    offset += Math.ceil(bytes / ALIGN) * ALIGN;
  }
  const head = new Writer();
  head.chunks = [Buffer.from('GGUF')];
  head.u32(3);
  head.u64(plan.length);
  head.u64(nkv);
  const h = Buffer.concat([head.bytes(), kv.bytes(), info.bytes()]);
  const fd = openSync(out, 'w');
  try {
    writeSync(fd, h);
    let pos = h.length;
    const pad = (to: number) => {
      if (to > pos) writeSync(fd, Buffer.alloc(to - pos));
      pos = to;
    };
    const dataStart = Math.ceil(pos / ALIGN) * ALIGN;
    pad(dataStart);
    for (const p of plan) {
      pad(dataStart + p.offset);
      const [b, e] = p.t.data_offsets;
      const src = Buffer.alloc(e - b);
      readSync(st.fd, src, 0, e - b, st.base + b);
      if (p.t.dtype !== 'F32' && p.t.dtype !== 'BF16') throw new Error(`${p.name}: dtype ${p.t.dtype} not handled`);
      // f32 bits of every element (bf16 is the top half of an f32)
      let bits: Uint32Array;
      if (p.t.dtype === 'F32') bits = new Uint32Array(src.buffer, src.byteOffset, src.length / 4);
      else {
        const h = new Uint16Array(src.buffer, src.byteOffset, src.length / 2);
        bits = new Uint32Array(h.length);
        for (let i = 0; i < h.length; i++) bits[i] = h[i] << 16;
      }
      let dst: Buffer;
      if (p.ggml === GGML_F32) dst = Buffer.from(bits.buffer, bits.byteOffset, bits.byteLength);
      else {
        const o = new Uint16Array(bits.length);
        for (let i = 0; i < bits.length; i++) o[i] = f32ToF16(bits[i]);
        dst = Buffer.from(o.buffer);
      }
      writeSync(fd, dst);
      pos += dst.length;
    }
  } finally {
    closeSync(fd);
    closeSync(st.fd);
  }
}

if (process.argv[1]?.endsWith('gguf.ts')) {
  const [dir, out, type = 'f32'] = process.argv.slice(2);
  if (!dir || !out || (type !== 'f32' && type !== 'f16')) {
    console.error('usage: npx tsx bench/gguf.ts DIR OUT.gguf [f32|f16]');
    process.exit(2);
  }
  toGguf(dir, out, type);
}
