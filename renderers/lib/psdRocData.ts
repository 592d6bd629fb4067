/**
 * The PSD-ROC payload (see renderers/README.md): one or more runs shaped like `sed eval --json`
 * (`psds1.psds`, `psds1.psd_roc.{efpr,etpr}`, optional `psds1.per_class_roc.<class>.{efpr,tpr}`),
 * normalised here to plain curves.
 */
import { PayloadError } from './host';
import { Fields } from './payload';

export interface RocCurve {
  efpr: number[];
  tpr: number[];
}

export interface RocRun {
  name: string;
  psds: number;
  maxEfpr: number;
  overall: RocCurve;
  perClass: { name: string; curve: RocCurve; psds?: number }[];
}

function curve(f: Fields, yKey: string): RocCurve {
  const efpr = f.numbers('efpr');
  const tpr = f.numbers(yKey);
  if (efpr.length !== tpr.length || efpr.length === 0) throw new PayloadError(`${f.where}: "efpr" and "${yKey}" must be non-empty and of equal length (${efpr.length} vs ${tpr.length})`);
  for (let i = 1; i < efpr.length; i++) if (efpr[i] < efpr[i - 1]) throw new PayloadError(`${f.where}: "efpr" must be ascending (index ${i})`);
  return { efpr, tpr };
}

function run(where: string, obj: Record<string, unknown>, fallbackName: string): RocRun {
  const top = new Fields(where, obj);
  // Accept the whole eval result ({ psds1: {...} }) or the psds1 object itself.
  const f = top.obj_('psds1') ?? top;
  const roc = f.obj_('psd_roc');
  if (!roc) throw new PayloadError(`${f.where}: field "psd_roc" must be an object with "efpr" and "etpr" (missing)`);
  const overall = curve(roc, 'etpr');
  const params = f.obj_('params');
  const maxEfpr = params?.num('max_efpr', overall.efpr[overall.efpr.length - 1], (v) => v > 0, 'a positive number') ?? overall.efpr[overall.efpr.length - 1];
  const perClass: RocRun['perClass'] = [];
  const pc = f.obj_('per_class_roc');
  const pcPsds = f.obj_('per_class_psds');
  if (pc) for (const name of Object.keys(pc.obj)) perClass.push({ name, curve: curve(pc.obj_(name)!, 'tpr'), psds: pcPsds?.has(name) ? pcPsds.num(name) : undefined });
  return { name: top.has('name') ? top.str('name') : f.has('name') ? f.str('name') : fallbackName, psds: f.num('psds'), maxEfpr: maxEfpr || 100, overall, perClass };
}

export function parsePsdRoc(mime: string, header: Record<string, unknown>): { title?: string; runs: RocRun[] } {
  const f = new Fields(mime, header);
  if (f.has('runs')) {
    const runs = f.list('runs');
    if (runs.length === 0) throw new PayloadError(`${mime}: "runs" is empty`);
    return {
      title: f.has('title') ? f.str('title') : undefined,
      runs: runs.map((r, i) => {
        if (!r || typeof r !== 'object' || Array.isArray(r)) throw new PayloadError(`${mime}: "runs"[${i}] must be an object`);
        return run(`${mime} runs[${i}]`, r as Record<string, unknown>, `run ${i + 1}`);
      }),
    };
  }
  return { title: f.has('title') ? f.str('title') : undefined, runs: [run(mime, header, 'run')] };
}
