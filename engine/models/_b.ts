import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/select';
import { createModel, parseModelName } from './index';
(async () => {
  const info = await initBackend(process.argv[2] ?? 'wasm');
  console.log(info.device);
  const m = createModel(parseModelName(process.argv[3] ?? 'fmn10'));
  const B = Number(process.argv[4] ?? 1);
  const mel = tf.randomNormal([B, 128, 1000, 1]) as tf.Tensor4D;
  for (let i = 0; i < 2; i++) { const t0 = performance.now(); const y = tf.tidy(() => m.forward(mel).strongLogits); await y.data(); y.dispose(); console.log('run', (performance.now() - t0).toFixed(0), 'ms'); }
  const prof = await tf.profile(async () => { const y = tf.tidy(() => m.forward(mel).strongLogits); await y.data(); y.dispose(); });
  const agg = new Map<string, { ms: number; n: number }>();
  for (const k of prof.kernels) { const a = agg.get(k.name) ?? { ms: 0, n: 0 }; a.ms += k.kernelTimeMs as number; a.n++; agg.set(k.name, a); }
  console.log([...agg].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15).map(([k, v]) => `${k} ${v.ms.toFixed(0)}ms x${v.n}`).join('\n'));
})();
