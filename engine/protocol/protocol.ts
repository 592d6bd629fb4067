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
 * - Heavy requests (detect, scores, evaluate, train, pseudoLabel, profile, sweep, executeCell) run as
 *   jobs in the engine's queue (one at a time by default, see `InitializeParams.maxConcurrentJobs`).
 *   Each accepts an optional `workDoneToken`; when given, the engine sends `$/progress` notifications
 *   with that token (see `JobProgress`). Cancelling the request (`$/cancelRequest`, i.e. a
 *   CancellationToken on the client) or `sed/cancelJob` aborts the job: detection stops between chunks,
 *   training stops at the next batch and saves a checkpoint, and the request fails with
 *   `EngineErrorCodes.RequestCancelled` (-32800) unless its result type says it reports partial work.
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
  /** Folder for result files (scores, mel) and pulled models. Default: `<os tmpdir>/sed-engine-<pid>`. */
  cacheDir?: string;
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

export type JobKind = 'detect' | 'scores' | 'evaluate' | 'train' | 'pseudoLabel' | 'profile' | 'sweep' | 'executeCell' | 'mel';
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

export type ModelSource = 'bundled' | 'pulled' | 'user' | 'architecture';

export interface ModelEntry {
  /** Id to pass as `model` (stable across engine restarts). */
  id: string;
  /** Architecture name, e.g. `fmn10+tf:256`. */
  name: string;
  source: ModelSource;
  /** Checkpoint folder or file (absent for bare architectures). */
  path?: string;
  /** Free text: training data, scores, etc. */
  description?: string;
  numClasses?: number;
  /** Whether it is loaded in this engine process. */
  loaded: boolean;
}

export interface ListModelsParams {
  /** Extra folders to scan for user checkpoints. */
  userDirs?: string[];
}
export interface ListModelsResult {
  models: ModelEntry[];
}
export const ListModelsRequest = new RequestType<ListModelsParams, ListModelsResult, void>('sed/listModels');

export interface LoadModelParams {
  /** A model id from listModels, a checkpoint path, or an architecture name (random weights). */
  model: string;
}
export interface LoadModelResult {
  id: string;
  name: string;
  numParams: number;
  numClasses: number;
  /** Class labels, index order. */
  classes: string[];
}
/** Loads (and caches) a model; later requests naming the same `model` reuse it. */
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
  /** Model id / checkpoint path; default: the bundled default model. */
  model?: string;
  /** Decision thresholds (default [0.5]); events are decoded at each. */
  thresholds?: number[];
  /** Median filter window in frames (default 9; 1 = off). */
  medianWindow?: number;
  /** Also write the frame scores here (safetensors); default: a file in cacheDir. */
  scoresOut?: string;
  /** Also export events: paths to write (DCASE TSV, Audacity labels, JSON). */
  exports?: { tsv?: string; audacity?: string; json?: string };
}

export interface DetectedEvent {
  label: string;
  onset: number;
  offset: number;
  /** Peak probability inside the event. */
  score: number;
  threshold: number;
}

export interface DetectResult {
  file: string;
  model: string;
  duration: number;
  classes: string[];
  /** Events for all thresholds (a list of a few hundred objects at most, not bulk data). */
  events: DetectedEvent[];
  /** safetensors with `scores` F32 [T, C] (post-sigmoid, before median filtering). */
  scoresFile: string;
  /** Seconds per score frame. */
  frameHop: number;
  /** Exported files written. */
  exported: string[];
  /** Wall time of the job in seconds. */
  seconds: number;
}
export const DetectRequest = new RequestType<DetectParams, DetectResult, void>('sed/detect');

export interface ScoresParams extends WorkDoneParams {
  /** Audio files or folders of audio files. */
  inputs: string[];
  model?: string;
  /** Output folder: one `<stem>.safetensors` per file with `scores` F32 [T, C], plus `scores.tsv` per DCASE. */
  outDir: string;
}
export interface ScoresResult {
  outDir: string;
  files: string[];
  classes: string[];
  frameHop: number;
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
  /** Architecture name (`fmn04+tf:128`) or a checkpoint to continue from. */
  model: string;
  /** Output folder: checkpoints are written here (also when cancelled). */
  outDir: string;
  /** Training options understood by the engine's trainer (epochs, batchSize, lr, data, teacher, …). */
  options?: Record<string, unknown>;
}
export interface TrainResult {
  /** Checkpoint written last (the cancelled run's checkpoint too). */
  checkpoint: string;
  epochs: number;
  steps: number;
  /** True when stopped by cancellation (the request still succeeds: the checkpoint is the result). */
  cancelled: boolean;
  /** Final training metrics (loss, …). */
  metrics: Record<string, number>;
}
export const TrainRequest = new RequestType<TrainParams, TrainResult, void>('sed/train');

export interface PseudoLabelParams extends WorkDoneParams {
  /** Teacher model(s): ids / checkpoints; several are averaged. */
  teachers: string[];
  /** Audio files or folders. */
  inputs: string[];
  /** Output folder for the soft labels (safetensors per file). */
  outDir: string;
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
  /** Backbones × sequence models × hidden sizes to train/evaluate, or to profile only. */
  backbones: string[];
  seqModels: string[];
  hidden?: number[];
  /** `profile`: params/MACs only; `train`: train + evaluate each (uses TrainParams.options). */
  mode: 'profile' | 'train';
  outDir?: string;
  options?: Record<string, unknown>;
}
export interface SweepResult {
  rows: Array<ProfileRow & { psds?: number; checkpoint?: string }>;
  /** JSON file with the rows (for the trade-off chart). */
  file?: string;
}
export const SweepRequest = new RequestType<SweepParams, SweepResult, void>('sed/sweep');

// ─────────────────────────────────────────────── notebook kernel

export interface CellOutput {
  /** `text/plain`, `application/vnd.code.notebook.error`, `application/json`, or our renderer MIME types. */
  mime: string;
  /** Text for text/* and JSON-ish MIME types (JSON.stringify'ed objects); renderer payloads as JSON text. */
  data: string;
  /** For text/plain: which stream it came from. */
  stream?: 'stdout' | 'stderr';
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
