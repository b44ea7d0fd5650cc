// The pruning check and Auto (docs/prune-check.md): one entry point, runPruneCheck(engine, options).
export { runPruneCheck, type PruneCheckOutcome, type PruneCheckProgressEvent, type PruneCheckRunOptions } from "./run-prune-check.js";
export { autoLabel, autoThresholds, pickAuto, type AutoThresholds } from "./menu.js";
export { spearman } from "./measure.js";
