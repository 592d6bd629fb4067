/** Down-mix to mono as librosa's `mono=True` does: the mean of all channels. */
export function mixToMono(channelData: Float32Array[]): Float32Array {
  if (channelData.length === 1) return channelData[0];
  const n = channelData[0].length;
  const out = new Float32Array(n);
  for (const ch of channelData) {
    for (let i = 0; i < n; i++) out[i] += ch[i];
  }
  const scale = 1 / channelData.length;
  for (let i = 0; i < n; i++) out[i] *= scale;
  return out;
}
