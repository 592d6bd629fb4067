/**
 * The SED engine protocol: JSON-RPC 2.0 (vscode-jsonrpc framing over stdio or Node IPC) between the
 * engine child process (`sed serve`) and its clients (the VS Code extension, tests, scripts).
 *
 * Every request and notification is a named type here, with its params and result documented, in the
 * manner of vscode-languageserver-protocol. Both sides import this module; it must stay free of tfjs
 * and of `vscode`.
 *
 * Conventions
 * - Methods are `sed/<name>`, except the LSP-style lifecycle (`initialize`, `shutdown`, `exit`) and
 *   `$/progress` / `$/cancelRequest`, which keep their LSP names and meanings.
 * - Paths are absolute, or relative to the engine's working directory.
 * - Bulk numeric data (scores, mel spectrograms) never travels as JSON number arrays: results carry the
 *   path of a safetensors file written by the engine (in `cacheDir`, or where the request says).
 * - Heavy requests (detect, scores, evaluate, train, pseudoLabel, profile, sweep, mel, loadModel,
 *   executeCell) run as jobs in the engine's queue (one at a time by default, see
 *   `InitializeParams.maxConcurrentJobs`); light ones (initialize, stats, listJobs, cancelJob,
 *   listModels, resetKernel, shutdown) are answered at once, between a job's batches/chunks.
 *   Each accepts an optional `workDoneToken`; when given, the engine sends `$/progress` notifications
 *   with that token (see `JobProgress`). Cancelling the request (`$/cancelRequest`, i.e. a
 *   CancellationToken on the client) or `sed/cancelJob` aborts the job: detection stops between chunks,
 *   training stops at the next batch and saves a checkpoint, and the request fails with
 *   `EngineErrorCodes.RequestCancelled` (-32800) — except `sed/train`, which resolves with
 *   `cancelled: true` and the saved checkpoint.
 * - Errors are ResponseErrors whose message names the file or parameter and the problem.
 *   `InvalidParams` (-32602) for a bad parameter, `EngineErrorCodes` below for the rest.
 */
import { NotificationType, NotificationType0, ProgressType, RequestType, RequestType0 } from 'vscode-jsonrpc';

/** Bumped when a request or result changes incompatibly. */
export const PROTOCOL_VERSION = 1;

/** Error codes in the JSON-RPC server-defined range, beyond the standard ones. */
export const EngineErrorCodes = {
  /** The request was cancelled (`$/cancelRequest` or `sed/cancelJob`); same code as LSP's RequestCancelled. */
  RequestCancelled: -32800,
  /** A request other than `initialize` arrived first; same code as LSP's ServerNotInitialized. */
  NotInitialized: -32002,
  /** A file named in the params does not exist or cannot be read; `data.path` names it. */
  FileNotFound: -32010,
  /** The engine function failed (decode error, shape mismatch, …); the message says why. */
  EngineError: -32011,
  /** The engine is shutting down and accepts no more work. */
  ShuttingDown: -32013,
} as const;

/** A progress token: the client picks it (unique per request) and passes it as `workDoneToken`. */
export type ProgressToken = string | number;

export interface WorkDoneParams {
  /** When set, the engine reports this request's progress as `$/progress` with this token. */
  workDoneToken?: ProgressToken;
}

// ─────────────────────────────────────────────── lifecycle

export interface InitializeParams {
  /** Backend to start: auto, tensorflow, webgpu, wasm, cpu. Default: `$SED_BACKEND` or auto. */
  backend?: string;
  /** Folder for result files (scores, mel, binary cell outputs). Default: `<os tmpdir>/sed-engine-<pid>`, removed when the engine exits. */
  cacheDir?: string;
  /** Folder of pulled reference models (default: `$SED_CACHE_DIR` or `~/.cache/sed-studio/models`, as `sed pull`). */
  modelsDir?: string;
  /** Folders holding user checkpoints (each checkpoint a sub-folder with config.json), listed by listModels. */
  userModelDirs?: string[];
  /** Heavy jobs run at once (default 1: tfjs backends are single-threaded per process). */
  maxConcurrentJobs?: number;
  /** Who is asking, for logs. */
  clientInfo?: { name: string; version?: string };
}

export interface BackendInfo {
  /** Active tfjs backend: tensorflow, webgpu, wasm, cpu. */
  backend: string;
  /** Human-readable device. */
  device: string;
  /** Package versions (tfjs-core, node, …). */
  versions: Record<string, string>;
  /** Why better backends were skipped (auto mode). */
  skipped: Record<string, string>;
}

export interface InitializeResult {
  engineVersion: string;
  protocolVersion: number;
  /** Process id of the engine (so a client can watch or kill it). */
  pid: number;
  /** `process.versions.node` of the engine runtime. */
  node: string;
  backend: BackendInfo;
  cacheDir: string;
  maxConcurrentJobs: number;
  /** Methods this engine build serves (requests whose engine functions are missing are absent). */
  requests: string[];
}

/** Must be the first request. A second `initialize` with another backend is an error (restart instead). */
export const InitializeRequest = new RequestType<InitializeParams, InitializeResult, void>('initialize');

/** Cancels all jobs and stops accepting new ones; resolves when running jobs have ended (saved). */
export const ShutdownRequest = new RequestType0<null, void>('shutdown');

/** The engine exits (code 0 after `shutdown`, 1 otherwise). */
export const ExitNotification = new NotificationType0('exit');

// ─────────────────────────────────────────────── engine state

export interface StatsResult {
  /** `tf.memory().numTensors`: live tensors (a leak shows up as growth across requests). */
  numTensors: number;
  /** `tf.memory().numBytes`. */
  numBytes: number;
  /** Process resident set size, bytes. */
  rss: number;
  heapUsed: number;
  /** Seconds since the engine started. */
  uptime: number;
  /** Requests answered so far (all kinds). */
  requestsServed: number;
}

/** Memory and tensor counters; light (answered while jobs run). */
export const StatsRequest = new RequestType0<StatsResult, void>('sed/stats');

// ─────────────────────────────────────────────── jobs

export type JobKind = 'detect' | 'scores' | 'evaluate' | 'train' | 'pseudoLabel' | 'profile' | 'sweep' | 'executeCell' | 'mel' | 'loadModel';
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobInfo {
  /** Engine-assigned id, unique per engine process. */
  id: number;
  kind: JobKind;
  /** Short description, e.g. `detect cough006.wav with fmn04`. */
  title: string;
  state: JobState;
  /** The request's `workDoneToken`, if any. */
  workDoneToken?: ProgressToken;
  /** Last reported progress. */
  done?: number;
  total?: number;
  message?: string;
  /** ms since the epoch. */
  queuedAt: number;
  startedAt?: number;
  endedAt?: number;
  /** Failure message for `failed`. */
  error?: string;
}

export interface ListJobsResult {
  /** Queued and running jobs first (queue order), then the last few finished ones. */
  jobs: JobInfo[];
}

export const ListJobsRequest = new RequestType0<ListJobsResult, void>('sed/listJobs');

export interface CancelJobParams {
  jobId: number;
}
export interface CancelJobResult {
  /** False when the job had already ended. */
  cancelled: boolean;
}
/** Cancels a queued or running job (same effect as `$/cancelRequest` on its request). */
export const CancelJobRequest = new RequestType<CancelJobParams, CancelJobResult, void>('sed/cancelJob');

/** Sent whenever a job is queued, starts, reports progress state changes, or ends. */
export const JobsChangedNotification = new NotificationType<ListJobsResult>('sed/jobsChanged');

/** Value of `$/progress` for a job (LSP work-done progress shape, plus job id and cell output). */
export interface JobProgress {
  kind: 'begin' | 'report' | 'end';
  jobId: number;
  /** Set on `begin`. */
  title?: string;
  /** Units of work done so far (chunks, batches, cells, models), with `total` when known. */
  done?: number;
  total?: number;
  /** 0–100 when `total` is known. */
  percentage?: number;
  message?: string;
  /** executeCell only: one output streamed as it happens (the final result repeats all of them). */
  output?: CellOutput;
}

export const JobProgressType = new ProgressType<JobProgress>();

// ─────────────────────────────────────────────── logging

export interface LogParams {
  level: 'error' | 'warn' | 'info' | 'debug';
  message: string;
}
/** Engine diagnostics (also what engine code prints with console.*: stdout carries the protocol). */
export const LogNotification = new NotificationType<LogParams>('sed/log');

// ─────────────────────────────────────────────── models

export type ModelSource = 'bundled' | 'pulled' | 'user';

export interface ModelEntry {
  /** What to pass as `model` in other requests (`default`, a pulled release name, or a folder path). */
  id: string;
  /** Canonical architecture name, e.g. `fmn10+tf:256`. */
  name: string;
  source: ModelSource;
  /** Checkpoint folder. */
  path: string;
  numClasses: number;
}

export interface ListModelsParams {
  /** Extra folders to scan for user checkpoints (besides `InitializeParams.userModelDirs`). */
  userDirs?: string[];
}
export interface ListModelsResult {
  /** Bundled default first, then pulled, then user checkpoints. */
  models: ModelEntry[];
}
export const ListModelsRequest = new RequestType<ListModelsParams, ListModelsResult, void>('sed/listModels');

export interface LoadModelParams extends WorkDoneParams {
  /** A model id from listModels, a pulled model name, or a checkpoint folder; default: the bundled model. */
  model?: string;
}
export interface LoadModelResult {
  /** Checkpoint folder it resolved to. */
  path: string;
  /** Canonical architecture name. */
  name: string;
  numParams: number;
  numClasses: number;
  /** Class labels, index order. */
  classes: string[];
  /** The checkpoint's decision thresholds, one per class (detect defaults to their distinct values). */
  thresholds: number[];
  medianWindow: number;
}
/** Loads (and caches) a checkpoint; later requests naming the same model reuse it. Runs as a job (kind `loadModel`). */
export const LoadModelRequest = new RequestType<LoadModelParams, LoadModelResult, void>('sed/loadModel');

// ─────────────────────────────────────────────── display data

export interface MelParams {
  /** Audio file (wav, flac, mp3, ogg, opus). */
  file: string;
  /** Seconds; default 0. */
  start?: number;
  /** Seconds; default: to the end. */
  duration?: number;
  /** Output safetensors path; default: a new file in cacheDir. */
  out?: string;
}
export interface MelResult {
  /** safetensors file with tensor `mel`: F32 [128, T] (log-mel, MODEL_SPEC §1), metadata below as strings. */
  file: string;
  /** [128, T] */
  shape: [number, number];
  /** Seconds per frame (0.01). */
  hopSeconds: number;
  /** Start time of frame 0 in seconds. */
  start: number;
  /** Audio duration in seconds (whole file). */
  audioDuration: number;
  sampleRate: number;
  /** min / max of the values, for colour scaling. */
  min: number;
  max: number;
}
/** Log-mel spectrogram for display (the model's frontend). Runs as a job of kind `mel`. */
export const MelRequest = new RequestType<MelParams & WorkDoneParams, MelResult, void>('sed/mel');

// ─────────────────────────────────────────────── detection

export interface DetectParams extends WorkDoneParams {
  file: string;
  /** Model id / pulled name / checkpoint folder; default: the bundled default model. */
  model?: string;
  /** Decision thresholds; events are decoded at each (default: the checkpoint's). */
  thresholds?: number[];
  /** Median filter window in frames (default: the checkpoint's, 9; 1 = off). */
  medianWindow?: number;
  /** Only these class names (default: all the model's classes). */
  classes?: string[];
  /** Where to write the frame scores (safetensors); default: a new file in cacheDir. */
  scoresOut?: string;
  /** Also export the events: paths to write (DCASE TSV, Audacity labels, JSON). */
  exports?: { tsv?: string; audacity?: string; json?: string };
}

export interface DetectedEvent {
  label: string;
  onset: number;
  offset: number;
  /** Highest and mean probability over the event's frames. */
  maxScore: number;
  meanScore: number;
  threshold: number;
}

export interface DetectResult {
  file: string;
  /** Checkpoint folder used. */
  model: string;
  /** Architecture name of that checkpoint. */
  modelName: string;
  duration: number;
  classes: string[];
  thresholds: number[];
  /** Events for all thresholds, sorted by threshold, onset, label (objects, not bulk numbers). */
  events: DetectedEvent[];
  /**
   * safetensors with `scores`: F32 [frames, classes], median-filtered probabilities, row-major;
   * metadata `classes` (JSON list), `frameSeconds`, `file`.
   */
  scoresFile: string;
  frames: number;
  /** Seconds per score frame (0.04). */
  frameSeconds: number;
  /** Exported files written. */
  exported: string[];
  /** Wall time of the job in seconds. */
  seconds: number;
}
export const DetectRequest = new RequestType<DetectParams, DetectResult, void>('sed/detect');

export interface ScoresParams extends WorkDoneParams {
  /** Audio files, or folders whose audio files (wav, flac, mp3, ogg, opus) are all scored. */
  inputs: string[];
  model?: string;
  /** Median filter window applied before writing (default 1: raw probabilities, as PSDS evaluation expects). */
  medianWindow?: number;
  /** Output folder: one sed_scores_eval score table `<audio name>.tsv` per file (input of `sed/evaluate`). */
  outDir: string;
}
export interface ScoresResult {
  outDir: string;
  /** Score tables written, one per input audio file. */
  files: string[];
  classes: string[];
  frameSeconds: number;
}
export const ScoresRequest = new RequestType<ScoresParams, ScoresResult, void>('sed/scores');

// ─────────────────────────────────────────────── evaluation

export interface EvaluateParams extends WorkDoneParams {
  /** Folder of `<audio_id>.tsv` DCASE score tables (onset, offset, one column per class), e.g. from `sed/scores`. */
  scoresDir: string;
  /** Ground truth TSV (filename, onset, offset, event_label). */
  groundTruth: string;
  /** Durations TSV (filename, duration); default: the score tables' spans. */
  durations?: string;
  /**
   * Evaluator options (engine/eval `EvaluateOptions`): `psds1` / `psds2` / `intersectionF1` / `collarF1`
   * parameter overrides (false skips one), `dropClassesWithoutGroundTruth`, `mergeConnectedEvents`.
   */
  options?: Record<string, unknown>;
  /** Where to write the full result JSON (curves, per-class values); default: a file in cacheDir. */
  out?: string;
}
export interface EvaluateResult {
  /** PSDS of scenario 1 / 2 (absent when skipped). */
  psds1?: number;
  psds2?: number;
  /** Macro F1 (intersection-based / collar-based) at the default operating point. */
  intersectionF1?: number;
  collarF1?: number;
  /** Per-class PSDS1 (one number per class: small). */
  perClassPsds1?: Record<string, number>;
  classes: string[];
  droppedClasses: string[];
  audioFiles: number;
  datasetDurationSeconds: number;
  /** The full evaluation JSON (PSD-ROC curves as arrays live here, never in the response). */
  file: string;
}
export const EvaluateRequest = new RequestType<EvaluateParams, EvaluateResult, void>('sed/evaluate');

// ─────────────────────────────────────────────── training

export interface TrainParams extends WorkDoneParams {
  /** Architecture (`fmn04+tf:64`); default: the `init` checkpoint's (in `options`). */
  model?: string;
  /** Output folder: `last/`, `best/` checkpoints, `resume.safetensors`, `history.json` (also when cancelled). */
  outDir: string;
  /** Strong labels TSV (filename, onset, offset, event_label) and the folder of its audio files. */
  trainTsv: string;
  trainAudio: string;
  epochs: number;
  /**
   * Other trainer options (engine/train `TrainOptions`): batchSize, accumulate, microBatch, workers, backboneLr, seqLr,
   * layerDecay, warmupSteps, warmupFraction, augment, kdWeight, teacher, pseudoLabels, init,
   * freezeBackbone, valTsv, valAudio, valDurations, trainDurations, validateEvery, medianWindow, seed,
   * resume, classes, cacheDir, limit, valLimit, evalBatchSize.
   */
  options?: Record<string, unknown>;
}
export interface TrainResult {
  outDir: string;
  /** The `last/` checkpoint folder (written also when cancelled: training stops at the next batch and saves). */
  checkpoint: string;
  /** The `best/` checkpoint folder (best validation PSDS1), when validation ran. */
  bestCheckpoint?: string;
  best?: { epoch: number; psds1Macro: number };
  epochs: number;
  steps: number;
  /** True when stopped by cancellation (the request still succeeds: the saved checkpoint is the result). */
  cancelled: boolean;
  classes: string[];
  secondsPerEpoch?: number;
  /** Per-epoch losses and validation scores (JSON). */
  historyFile: string;
}
export const TrainRequest = new RequestType<TrainParams, TrainResult, void>('sed/train');

export interface PseudoLabelParams extends WorkDoneParams {
  /** Teacher checkpoint folder, or several (an ensemble: probabilities averaged; same classes in the same order). */
  teacher: string | string[];
  /** Audio files or folders. */
  inputs: string[];
  /** Output folder: `<audio file name>.safetensors` with `probs` [frames, classes] (40 ms), for TrainParams.options.pseudoLabels. */
  outDir: string;
  /** 10 s chunks per forward pass (default 8). */
  batchSize?: number;
}
export interface PseudoLabelResult {
  outDir: string;
  files: string[];
}
export const PseudoLabelRequest = new RequestType<PseudoLabelParams, PseudoLabelResult, void>('sed/pseudoLabel');

// ─────────────────────────────────────────────── profiling

export interface ProfileParams extends WorkDoneParams {
  /** Architecture names, e.g. ['fmn04', 'fmn10+tf:256']. */
  models: string[];
  /** Also time forward passes on the active backend (default false: counts only). */
  time?: boolean;
  /** Input length in seconds (default 10). */
  seconds?: number;
  /** Timed forward passes per model after one warm-up (default 3; the median is reported). */
  repeats?: number;
}
export interface ProfileRow {
  /** Canonical architecture name. */
  name: string;
  params: number;
  macs: number;
  /** Median forward time (ms) for one clip, when `time` was set. */
  ms?: number;
}
export interface ProfileResult {
  rows: ProfileRow[];
  backend: string;
}
export const ProfileRequest = new RequestType<ProfileParams, ProfileResult, void>('sed/profile');

export interface SweepParams extends WorkDoneParams {
  /** Backbones, e.g. ['fmn04', 'fmn10']. */
  backbones: string[];
  /** Sequence models (tf, att, bigru, tcn, mamba, hybrid, or 'none' for the backbone alone). */
  seqModels: string[];
  /** Hidden sizes tried for each sequence model (default [256]). */
  hidden?: number[];
  /** Also time forward passes on the active backend (throughput). */
  time?: boolean;
  /** Where to write the trade-off chart JSON (`application/vnd.sed-studio.tradeoff+json`); default: cacheDir. */
  out?: string;
}
export interface SweepRow extends ProfileRow {
  /** Sequence-model family ('none' for the plain backbone). */
  seq: string;
  /** Clips (10 s) per second, when timed. */
  throughput?: number;
}
/**
 * A profile sweep over the grid backbones × seqModels × hidden (params, MACs, optional throughput).
 * PSDS per model comes from `sed/train` + `sed/evaluate` runs; the trade-off JSON takes `psds1` per row.
 */
export interface SweepResult {
  rows: SweepRow[];
  /** The trade-off chart JSON written. */
  file: string;
}
export const SweepRequest = new RequestType<SweepParams, SweepResult, void>('sed/sweep');

// ─────────────────────────────────────────────── notebook kernel

export interface CellOutput {
  /** `text/plain`, `application/vnd.code.notebook.error`, `application/json`, or our renderer MIME types. */
  mime: string;
  /** Text for text/* and JSON MIME types (objects are JSON.stringify'ed); empty when `file` is set. */
  data: string;
  /** For text/plain: which stream it came from. */
  stream?: 'stdout' | 'stderr';
  /**
   * Binary outputs (e.g. the renderers' safetensors MIME types): the bytes are in this file, written by
   * the engine under cacheDir, and `data` is empty. Bytes never travel inside the JSON message.
   */
  file?: string;
}

export interface ExecuteCellParams extends WorkDoneParams {
  /** Notebook identity (its URI): each has its own persistent context. */
  notebook: string;
  code: string;
  language: 'javascript' | 'typescript';
  /** Working directory for relative paths inside the cell (the notebook's folder). */
  cwd?: string;
}
export interface ExecuteCellResult {
  /** All outputs in order: console text, display() calls, the last expression's value, or the error. */
  outputs: CellOutput[];
  /** False when the cell threw (the error is the last output). */
  success: boolean;
  /** Per-notebook execution counter. */
  executionCount: number;
  durationMs: number;
}
/**
 * Runs notebook code in the engine process: a persistent per-notebook context (variables survive across
 * cells), top-level await, the `sed` API object in scope, `display(mime, data)`, `console.*` captured.
 * Interrupting = cancelling the request: `sed.signal` aborts and engine calls made with it stop.
 */
export const ExecuteCellRequest = new RequestType<ExecuteCellParams, ExecuteCellResult, void>('sed/executeCell');

export interface ResetKernelParams {
  notebook: string;
}
/** Drops a notebook's context (its variables) and disposes the tensors it owned. */
export const ResetKernelRequest = new RequestType<ResetKernelParams, null, void>('sed/resetKernel');

/** Every request type, for clients that want to check `InitializeResult.requests`. */
export const ALL_REQUESTS = [
  InitializeRequest, ShutdownRequest, StatsRequest, ListJobsRequest, CancelJobRequest, ListModelsRequest, LoadModelRequest,
  MelRequest, DetectRequest, ScoresRequest, EvaluateRequest, TrainRequest, PseudoLabelRequest, ProfileRequest, SweepRequest,
  ExecuteCellRequest, ResetKernelRequest,
].map((t) => t.method);
