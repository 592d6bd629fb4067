import { strict as assert } from 'node:assert';
import { checkGpuHealth, watchUncapturedErrors, type WatchedDevice } from '../../engine/backend/gpuErrors';

describe('uncaptured GPU errors', () => {
  it('are kept from the first one on and name the cause (out of memory with what to do)', () => {
    const device: WatchedDevice = { onuncapturederror: null };
    watchUncapturedErrors(device);
    checkGpuHealth('training step');
    class GPUOutOfMemoryError extends Error {}
    device.onuncapturederror!({ error: new GPUOutOfMemoryError('vkAllocateMemory failed with VK_ERROR_OUT_OF_DEVICE_MEMORY\n - While calling [Device].CreateBuffer') });
    device.onuncapturederror!({ error: new Error('a later validation error') });
    assert.throws(() => checkGpuHealth('training step'), (err: Error) => {
      assert.equal(err.message, 'training step: the GPU reported an error, so its results are invalid (GPUOutOfMemoryError: vkAllocateMemory failed with VK_ERROR_OUT_OF_DEVICE_MEMORY) — the GPU ran out of memory: use a smaller --batch or --micro-batch, or stop other GPU jobs');
      return true;
    });
    watchUncapturedErrors(device);
    checkGpuHealth('a new device starts clean');
  });
});
